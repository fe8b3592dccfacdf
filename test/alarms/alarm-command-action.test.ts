import { describe, expect, it } from 'vitest';
import { AlarmCommandActions, alarmCommandSender, alarmCommandToken } from '../../src/alarms/alarm-command-action.js';
import type { AlarmRule } from '../../src/alarms/alarm-rule.js';
import { applyTransition, normalInstance, SYSTEM_ACTOR } from '../../src/alarms/alarm-state.js';
import type { Command } from '../../src/commands/command.js';
import type { SendCommandInput } from '../../src/commands/command-service.js';
import { NotFoundError } from '../../src/domain/errors.js';
import { DEVICE_ID, testRule } from './alarm-fixtures.js';

/** In-memory rule versions and a command sender that records what it was asked. */
function fixture(rule: AlarmRule, options: { deviceGone?: boolean } = {}) {
  const reads: string[] = [];
  const sent: Array<{ input: SendCommandInput; createdBy: string }> = [];
  const actions = new AlarmCommandActions({
    rules: {
      getRuleVersion: async (id, version) => {
        reads.push(`${id}#${version}`);
        return version === rule.version ? rule : undefined;
      },
    },
    commands: {
      send: async (input, createdBy) => {
        if (options.deviceGone) throw new NotFoundError(`device ${String(input.deviceId)} does not exist`);
        sent.push({ input, createdBy });
        return { id: 'c1', status: 'CREATED' } as Command;
      },
    },
  });
  return { actions, reads, sent };
}

const at = '2026-11-29T08:00:00.000Z';
const transitionTo = (rule: AlarmRule, to: 'ACTIVE' | 'NORMAL', rev = 1) => {
  let instance = normalInstance(rule, DEVICE_ID, at);
  for (let r = 1; r < rev; r++) instance = applyTransition(instance, rule, 'NORMAL', { at, reason: 'x', actor: SYSTEM_ACTOR });
  return applyTransition(instance, rule, to, { at, reason: 'x', actor: SYSTEM_ACTOR }).last;
};

describe('AlarmCommandActions', () => {
  const rule = testRule({ command: { name: 'shut_off', payload: { valve: 'closed' }, timeoutSeconds: 30, onStates: ['ACTIVE'] } });

  it('sends the rule version\'s command on a transition into a state it names, with a token derived from the transition', async () => {
    // Prepare
    const { actions, sent } = fixture(rule);
    const active = transitionTo(rule, 'ACTIVE');

    // Act
    const outcome = await actions.run(active);

    // Assess
    expect(outcome.kind).toBe('sent');
    expect(sent).toEqual([
      { input: { deviceId: DEVICE_ID, name: 'shut_off', payload: { valve: 'closed' }, timeoutSeconds: 30, clientToken: alarmCommandToken(active) }, createdBy: alarmCommandSender(rule.id) },
    ]);
    expect(alarmCommandToken(active)).toMatch(/^alarm-[0-9a-f]{40}$/);
    expect(alarmCommandToken(active)).toBe(alarmCommandToken({ alarmId: active.alarmId, rev: 1 }));
    expect(alarmCommandToken(active)).not.toBe(alarmCommandToken({ alarmId: active.alarmId, rev: 3 }));
  });

  it('sends nothing on other states, or for a rule without a command, and reads each rule version once', async () => {
    // Prepare
    const { actions, sent, reads } = fixture(rule);
    const plain = fixture(testRule());

    // Act
    const outcomes = [await actions.run(transitionTo(rule, 'NORMAL', 2)), await actions.run(transitionTo(rule, 'ACTIVE', 3)), await plain.actions.run(transitionTo(rule, 'ACTIVE'))];

    // Assess
    expect(outcomes.map((o) => o.kind)).toEqual(['none', 'sent', 'none']);
    expect(sent).toHaveLength(1);
    expect(reads).toEqual([`${rule.id}#1`]);
  });

  it('reports a device deleted since its alarm moved instead of failing the stream record', async () => {
    const { actions } = fixture(rule, { deviceGone: true });
    expect(await actions.run(transitionTo(rule, 'ACTIVE'))).toEqual({ kind: 'device-gone', deviceId: DEVICE_ID });
  });
});
