import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.js';
import { describeCondition, ruleTargets, validateRuleInput, type AlarmRuleInput } from '../../src/alarms/alarm-rule.js';
import { DEVICE_ID } from './alarm-fixtures.js';

const base: AlarmRuleInput = {
  name: 'hot',
  severity: 'HIGH',
  target: { kind: 'DEVICE_TYPE', deviceType: 'thermostat' },
  condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30, clearThreshold: 28, forSeconds: 300 },
};

function refusal(input: Partial<AlarmRuleInput>): { field: string | undefined; message: string } {
  try {
    validateRuleInput({ ...base, ...input });
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return { field: (error as ValidationError).field, message: (error as Error).message };
  }
  throw new Error('expected a ValidationError');
}

describe('validateRuleInput', () => {
  it('accepts a command action with the command model\'s defaults, and a per-metric no-data condition', () => {
    // Act
    const acting = validateRuleInput({ ...base, command: { name: 'shut_off', payload: '{"valve":"closed"}', onStates: ['ACTIVE', 'LATCHED', 'ACTIVE'] } });
    const bare = validateRuleInput({ ...base, command: { name: 'beep' } });
    const silent = validateRuleInput({ ...base, condition: { kind: 'NO_DATA', seconds: 60, metric: 'pressure' } });

    // Assess
    expect(acting.command).toEqual({ name: 'shut_off', payload: { valve: 'closed' }, timeoutSeconds: 60, onStates: ['ACTIVE', 'LATCHED'] });
    expect(bare.command).toEqual({ name: 'beep', payload: {}, timeoutSeconds: 60, onStates: ['ACTIVE'] });
    expect(silent.condition).toEqual({ kind: 'NO_DATA', seconds: 60, metric: 'pressure' });
    expect(describeCondition(silent.condition)).toBe('no pressure for 60 s');
  });

  it.each([
    [{ command: 'shut_off' }, 'command', /command must be an object/],
    [{ command: { name: 'Shut Off' } }, 'command.name', /command.name must be 1-64 characters/],
    [{ command: { name: 'ok', payload: 'x'.repeat(40_000) } }, 'command.payload', /command.payload/],
    [{ command: { name: 'ok', payload: [[[[[[[[[1]]]]]]]]] } }, 'command.payload', /command.payload/],
    [{ command: { name: 'ok', timeoutSeconds: 0.5 } }, 'command.timeoutSeconds', /command.timeoutSeconds must be an integer from 1 to 86400/],
    [{ command: { name: 'ok', onStates: [] } }, 'command.onStates', /non-empty list/],
    [{ command: { name: 'ok', onStates: ['LOUD'] } }, 'command.onStates', /command.onStates must be one of NORMAL/],
    [{ condition: { kind: 'NO_DATA', seconds: 60, metric: '' } }, 'condition.metric', /condition.metric must be a metric name/],
  ])('refuses a bad command action or no-data metric (%#), naming the field', (input, field, message) => {
    const refused = refusal(input as Partial<AlarmRuleInput>);
    expect(refused.field).toBe(field);
    expect(refused.message).toMatch(message);
  });

  it('accepts a threshold rule and fills the defaults', () => {
    // Act
    const spec = validateRuleInput(base);
    // Assess
    expect(spec).toEqual({ ...base, description: '', latch: false, ackRequired: true, notify: true });
    expect(describeCondition(spec.condition)).toBe('temperature > 30 for 300 s');
  });

  it('accepts no-data rules and consecutive counts', () => {
    expect(validateRuleInput({ ...base, condition: { kind: 'NO_DATA', seconds: 600 } }).condition).toEqual({ kind: 'NO_DATA', seconds: 600 });
    const spec = validateRuleInput({ ...base, condition: { kind: 'THRESHOLD', metric: 'battery.level', operator: 'LE', threshold: 10, consecutive: 3 } });
    expect(describeCondition(spec.condition)).toBe('battery.level <= 10 for 3 readings');
  });

  it.each([
    [{ condition: { ...(base.condition as object), metric: '9lives' } }, 'condition.metric', /metric name/],
    [{ condition: { ...(base.condition as object), metric: 'temp$' } }, 'condition.metric', /metric name/],
    [{ condition: { ...(base.condition as object), clearThreshold: 31 } }, 'condition.clearThreshold', /wrong side.*at most 30/],
    [{ condition: { ...(base.condition as object), operator: 'LT', clearThreshold: 29 } }, 'condition.clearThreshold', /wrong side.*at least 30/],
    [{ condition: { ...(base.condition as object), operator: 'EQ' } }, 'condition.clearThreshold', /equality/],
    [{ condition: { ...(base.condition as object), forSeconds: 0 } }, 'condition.forSeconds', /from 1 to 86400/],
    [{ condition: { ...(base.condition as object), forSeconds: 86_401 } }, 'condition.forSeconds', /from 1 to 86400/],
    [{ condition: { ...(base.condition as object), consecutive: 2 } }, 'condition.forSeconds', /not both/],
    [{ condition: { ...(base.condition as object), threshold: Number.NaN } }, 'condition.threshold', /finite/],
    [{ condition: { ...(base.condition as object), operator: '>>' } }, 'condition.operator', /GT, GE/],
    [{ condition: { kind: 'NO_DATA', seconds: 5 } }, 'condition.seconds', /from 10 to 604800/],
    [{ condition: { kind: 'SOMETIMES' } }, 'condition.kind', /THRESHOLD, NO_DATA/],
    [{ condition: 'hot' }, 'condition', /object/],
    [{ severity: 'URGENT' }, 'severity', /CRITICAL/],
    [{ name: '  ' }, 'name', /empty/],
    [{ target: { kind: 'DEVICE', deviceId: 'nope' } }, 'target.deviceId', /UUID/],
    [{ target: { kind: 'DEVICE_TYPE', deviceType: 'Upper' } }, 'target.deviceType', /match/],
    [{ latch: true, ackRequired: false }, 'latch', /needs ackRequired/],
    [{ notify: 'yes' }, 'notify', /boolean/],
  ] as const)('refuses %j naming %s', (input, field, message) => {
    // Act
    const error = refusal(input as Partial<AlarmRuleInput>);
    // Assess
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('matches targets by device, type or all', () => {
    const device = { id: DEVICE_ID, type: 'thermostat' };
    expect(ruleTargets({ target: { kind: 'ALL' } }, device)).toBe(true);
    expect(ruleTargets({ target: { kind: 'DEVICE', deviceId: DEVICE_ID } }, device)).toBe(true);
    expect(ruleTargets({ target: { kind: 'DEVICE', deviceId: '00000000-0000-4000-8000-000000000000' } }, device)).toBe(false);
    expect(ruleTargets({ target: { kind: 'DEVICE_TYPE', deviceType: 'thermostat' } }, device)).toBe(true);
    expect(ruleTargets({ target: { kind: 'DEVICE_TYPE', deviceType: 'pump' } }, device)).toBe(false);
  });
});
