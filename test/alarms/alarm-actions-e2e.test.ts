/**
 * Alarm rules' command actions and per-metric no-data on the local platform end to end: real
 * MQTT.js devices over mutual TLS publish telemetry and receive commands; rules go through
 * GraphQL; a redelivered ingest batch and a redelivered Alarms stream record are replayed.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceItem } from '../../src/adapters/dynamodb/alarm-store.js';
import { alarmCommandSender } from '../../src/alarms/alarm-command-action.js';
import { startAlarmTestPlatform, waitFor, type AlarmTestPlatform } from './local-alarm-platform.js';

const RULE_FIELDS = 'id version condition { kind metric seconds } command { name payload timeoutSeconds onStates }';
const CREATE_RULE = `mutation C($input: AlarmRuleInput!) { createAlarmRule(input: $input) { ${RULE_FIELDS} } }`;
const ALARM = `query A($id: ID!) { alarm(id: $id, historyLimit: 100) { id state rev lastTransition { from to reason eventTime } history { items { rev from to } } } }`;
const COMMANDS = `query Q($deviceId: ID!) { commands(deviceId: $deviceId) { items { id name payload status createdBy clientToken } } }`;
const SEND = `mutation S($input: SendCommandInput!) { sendCommand(input: $input) { id } }`;

interface Envelope {
  id: string;
  name: string;
  payload: unknown;
}

describe('alarm actions on the local platform', () => {
  let t: AlarmTestPlatform;

  beforeAll(async () => {
    t = await startAlarmTestPlatform('alarm-actions-e2e-');
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('refuses a command action the command model refuses, naming the field', async () => {
    // Prepare
    const input = (command: Record<string, unknown>) => ({
      name: 'bad',
      severity: 'LOW',
      target: { kind: 'ALL' },
      condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 1 },
      command,
    });

    // Act
    const answers = await Promise.all(
      [{ name: 'Shut Off' }, { name: 'ok', payload: JSON.stringify([[[[[[[[[1]]]]]]]]]) }, { name: 'ok', timeoutSeconds: 86_401 }, { name: 'ok', onStates: [] }].map((c) => t.gql(CREATE_RULE, { input: input(c) })),
    );

    // Assess
    expect(answers.map((a) => a.errors?.[0]?.errorType)).toEqual(['ValidationError', 'ValidationError', 'ValidationError', 'ValidationError']);
    expect(answers.map((a) => a.errors?.[0]?.message.split(' ')[0])).toEqual(['command.name', 'command.payload', 'command.timeoutSeconds', 'command.onStates']);
  });

  it('makes the alarm ACTIVE on the threshold crossing and sends the rule command to the device exactly once, even when the batch and the stream record are redelivered', async () => {
    // Prepare: a pump subscribed to its command topic, and a rule that shuts it off
    const pump = await t.device('pump 1', 'pump');
    const received: Envelope[] = [];
    pump.client.on('message', (topic, payload) => {
      if (topic === pump.topics.commands) received.push(JSON.parse(payload.toString()) as Envelope);
    });
    await pump.client.subscribeAsync(pump.topics.commands, { qos: 1 });
    const rule = (
      await t.ok(CREATE_RULE, {
        input: {
          name: 'pump too hot',
          severity: 'HIGH',
          target: { kind: 'DEVICE_TYPE', deviceType: 'pump' },
          condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30, clearThreshold: 28, consecutive: 2 },
          command: { name: 'shut_off', payload: JSON.stringify({ valve: 'closed' }), timeoutSeconds: 30 },
        },
      })
    ).createAlarmRule;
    const alarmId = `${rule.id}.${pump.id}`;
    const base = Date.now() - 60_000;

    // Act 1: two readings above 30 cross the threshold
    await pump.send(base, { temperature: 31 }, 1);
    await pump.send(base + 10_000, { temperature: 33 }, 2);
    await pump.settled(base + 10_000);
    const active = (await t.ok(ALARM, { id: alarmId })).alarm;
    await waitFor(() => (received.some((e) => e.name === 'shut_off') ? true : undefined), 'the alarm command at the device');
    // Act 2: the same readings again (a redelivered ingest batch), and the ACTIVE transition's stream record again
    await pump.send(base, { temperature: 31 }, 1);
    await pump.send(base + 10_000, { temperature: 33 }, 2);
    await t.platform.flushIngest();
    const instance = await t.platform.alarms.service.getAlarm(alarmId);
    const redelivered: DynamoDBRecord = {
      eventName: 'MODIFY',
      eventSourceARN: `arn:aws:dynamodb:local:000000000000:table/${t.platform.tables.alarms}/stream/redelivery`,
      dynamodb: { SequenceNumber: `redelivery-${Date.now()}`, NewImage: marshall(instanceItem(instance), { removeUndefinedValues: true }) as never },
    };
    await t.platform.alarms.capture(redelivered);
    await t.platform.alarms.flush();
    // Act 3: cleared below 28 (the rule sends only on ACTIVE), then a command of our own as a fence:
    // the broker delivers in order, so a second alarm command would arrive before it.
    await pump.send(base + 20_000, { temperature: 20 }, 3);
    await pump.settled(base + 20_000);
    await t.ok(SEND, { input: { deviceId: pump.id, name: 'fence' } });
    await waitFor(() => (received.some((e) => e.name === 'fence') ? true : undefined), 'the fence command');
    const after = (await t.ok(ALARM, { id: alarmId })).alarm;
    const commands = (await t.ok(COMMANDS, { deviceId: pump.id })).commands.items;

    // Assess
    expect(rule.command).toEqual({ name: 'shut_off', payload: '{"valve":"closed"}', timeoutSeconds: 30, onStates: ['ACTIVE'] });
    expect(active).toMatchObject({ state: 'ACTIVE', rev: 1, lastTransition: { from: 'NORMAL', to: 'ACTIVE', eventTime: new Date(base + 10_000).toISOString() } });
    expect(instance.rev).toBe(1);
    expect(received.map((e) => e.name)).toEqual(['shut_off', 'fence']);
    expect(received[0]!.payload).toEqual({ valve: 'closed' });
    expect(after.history.items.map((h: { rev: number; to: string }) => `${h.rev}:${h.to}`)).toEqual(['2:NORMAL', '1:ACTIVE']);
    const fromAlarm = commands.filter((c: { createdBy: string }) => c.createdBy === alarmCommandSender(rule.id));
    expect(fromAlarm).toHaveLength(1);
    expect(fromAlarm[0]).toMatchObject({ id: received[0]!.id, name: 'shut_off', status: 'CREATED' });
  }, 120_000);

  it('fires a per-metric no-data alarm while the device keeps sending other metrics, leaves the whole-device one alone, and clears when the metric comes back', async () => {
    // Prepare: a meter, one rule on its pressure readings and one on any sign of life, both 10 s
    const meter = await t.device('meter 1', 'meter');
    const rule = async (name: string, condition: Record<string, unknown>) =>
      (await t.ok(CREATE_RULE, { input: { name, severity: 'MEDIUM', target: { kind: 'DEVICE', deviceId: meter.id }, condition } })).createAlarmRule;
    const pressure = await rule('no pressure', { kind: 'NO_DATA', seconds: 10, metric: 'pressure' });
    const silent = await rule('silent meter', { kind: 'NO_DATA', seconds: 10 });
    const pressureAlarm = `${pressure.id}.${meter.id}`;
    const first = Date.now();
    await meter.send(first, { temperature: 20, pressure: 1.2 });
    await meter.settled(first);

    // Act 1: only temperature from now on, every ~300 ms, until the pressure alarm fires
    const fired = await waitFor(
      async () => {
        const ts = Date.now();
        await meter.send(ts, { temperature: 20 + (ts % 7) / 10 });
        const alarm = (await t.gql(ALARM, { id: pressureAlarm })).data?.alarm;
        if (alarm?.state === 'ACTIVE') return { alarm, ts };
        await new Promise((resolve) => setTimeout(resolve, 300));
        return undefined;
      },
      'the per-metric no-data alarm',
      60_000,
    );
    await meter.settled(fired.ts);
    const whileTalking = (await t.ok(`query D($id: ID!) { device(id: $id) { alarms { id state } } }`, { id: meter.id })).device.alarms;
    // Act 2: pressure again
    const back = Date.now();
    await meter.send(back, { temperature: 21, pressure: 1.3 });
    await meter.settled(back);
    const cleared = (await t.ok(ALARM, { id: pressureAlarm })).alarm;

    // Assess
    expect(pressure.condition).toEqual({ kind: 'NO_DATA', metric: 'pressure', seconds: 10 });
    expect(fired.alarm).toMatchObject({ state: 'ACTIVE', rev: 1, lastTransition: { from: 'NORMAL', to: 'ACTIVE', eventTime: new Date(first).toISOString() } });
    expect(fired.alarm.lastTransition.reason).toMatch(/^no pressure for 10 s \(silent for \d+ s\)$/);
    expect(whileTalking).toEqual([{ id: pressureAlarm, state: 'ACTIVE' }]);
    expect(whileTalking.map((a: { id: string }) => a.id)).not.toContain(`${silent.id}.${meter.id}`);
    expect(cleared).toMatchObject({ state: 'NORMAL', rev: 2, lastTransition: { from: 'ACTIVE', to: 'NORMAL', reason: 'the device sent pressure again', eventTime: new Date(back).toISOString() } });
  }, 120_000);
});
