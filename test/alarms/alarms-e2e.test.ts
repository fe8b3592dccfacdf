/**
 * Alarms on the local platform end to end: real MQTT.js devices over mutual TLS publish
 * telemetry; rules, actions and reads go through GraphQL (HTTP + graphql-ws), WatchAlarms
 * through a real gRPC client; the events file is read from the data directory.
 */
import * as grpc from '@grpc/grpc-js';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readAlarmEvents } from '../../src/adapters/local/json-lines-alarm-events.js';
import { LocalTokenIssuer } from '../../src/local/appsync/local-token-issuer.js';
import { DeviceServiceClient } from '../../src/grpc/proto.js';
import { alarmEventsFile } from '../../src/local/alarms/local-alarms.js';
import type { LocalPlatform } from '../../src/local/platform.js';
import { ALARM_EVENT_JSON_SCHEMA } from '../../src/alarms/alarm-notification.js';
import { schemaViolations } from './json-schema-check.js';
import { startAlarmTestPlatform, waitFor, type AlarmTestPlatform } from './local-alarm-platform.js';

const RULE = 'id version';
const CREATE_RULE = `mutation C($input: AlarmRuleInput!) { createAlarmRule(input: $input) { ${RULE} } }`;
const ALARM_FIELDS = 'id state rev severity ruleName lastTransition { from to reason actor note value eventTime }';
const ALARM = `query A($id: ID!) { alarm(id: $id, historyLimit: 100) { ${ALARM_FIELDS} history { items { rev from to actor } nextToken } } }`;
const ACK = `mutation K($id: ID!, $note: String) { acknowledgeAlarm(id: $id, note: $note) { ${ALARM_FIELDS} } }`;
const SNOOZE = `mutation S($id: ID!, $s: Int!) { snoozeAlarm(id: $id, seconds: $s) { ${ALARM_FIELDS} } }`;
const DISABLE = `mutation D($id: ID!) { disableAlarm(id: $id) { ${ALARM_FIELDS} } }`;
const ENABLE = `mutation E($id: ID!) { enableAlarm(id: $id) { ${ALARM_FIELDS} } }`;
const DEVICE = `query G($id: ID!) { device(id: $id) { lastSeen alarms { id state } } }`;
const LIST = `query L($filter: AlarmFilter, $limit: Int, $nextToken: String) { alarms(filter: $filter, limit: $limit, nextToken: $nextToken) { items { id state severity } nextToken } }`;
const STATS = '{ stats { activeAlarms { severity count } } }';
const SUBSCRIBE = `subscription U($deviceId: ID) { alarmUpdated(deviceId: $deviceId) { id deviceId ruleId state transition { rev from to } } }`;

interface Update {
  id: string;
  deviceId: string;
  ruleId: string;
  state: string;
  transition: { rev: number; from: string; to: string };
}

describe('alarms on the local platform', () => {
  let t: AlarmTestPlatform;
  let platform: LocalPlatform;
  let ws: Client;
  let grpcClient: InstanceType<typeof DeviceServiceClient>;
  const gql: AlarmTestPlatform['gql'] = (query, variables, token) => t.gql(query, variables, token);
  const ok: AlarmTestPlatform['ok'] = (query, variables) => t.ok(query, variables);

  beforeAll(async () => {
    t = await startAlarmTestPlatform('alarms-e2e-');
    platform = t.platform;
    const issuer = await LocalTokenIssuer.fromDataDir(t.dataDir);
    const access = await issuer.issue({ user: 'ops', groups: ['viewer'], tokenUse: 'access' });
    ws = createClient({ url: platform.endpoints.graphql!.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { Authorization: t.admin }, retryAttempts: 0 });
    const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${access}`);
      callback(null, metadata);
    });
    grpcClient = new DeviceServiceClient(platform.endpoints.grpc!, grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(Buffer.from(platform.caCertificatePem)), bearer));
  });

  afterAll(async () => {
    grpcClient?.close();
    await ws?.dispose();
    await t?.stop();
  });

  it('fires, holds through the hysteresis band, clears, latches, follows ack/snooze/disable/enable and no-data, and delivers every transition once to alarmUpdated, WatchAlarms and the events file', async () => {
    // Prepare: two devices with certificates, connected over mutual TLS
    const provision = (name: string) => t.device(name, 'boiler');
    const boiler = await provision('boiler 1');
    const quiet = await provision('boiler 2');

    const rule = async (input: Record<string, unknown>) => (await ok(CREATE_RULE, { input: { severity: 'HIGH', ...input } })).createAlarmRule.id as string;
    const hot = await rule({
      name: 'hot',
      target: { kind: 'DEVICE_TYPE', deviceType: 'boiler' },
      condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30, clearThreshold: 28, forSeconds: 60 },
    });
    const scalding = await rule({
      name: 'scalding',
      severity: 'CRITICAL',
      latch: true,
      target: { kind: 'DEVICE', deviceId: boiler.id },
      condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 50 },
    });
    const silent = await rule({ name: 'silent', severity: 'LOW', target: { kind: 'DEVICE', deviceId: quiet.id }, condition: { kind: 'NO_DATA', seconds: 10 } });
    const probe = await rule({ name: 'probe', severity: 'INFO', target: { kind: 'DEVICE', deviceId: quiet.id }, condition: { kind: 'THRESHOLD', metric: 'probe', operator: 'GT', threshold: 0 } });
    const hotAlarm = `${hot}.${boiler.id}`;
    const scaldingAlarm = `${scalding}.${boiler.id}`;
    const silentAlarm = `${silent}.${quiet.id}`;
    await quiet.send(Date.now(), { temperature: 20 });

    // Subscribers: every alarm, one device's alarms, and a gRPC watcher; a probe alarm proves them live.
    const all: Update[] = [];
    const ofQuiet: Update[] = [];
    const errors: unknown[] = [];
    const subscribe = (target: Update[], variables: Record<string, unknown>) =>
      ws.subscribe<{ alarmUpdated: Update }>(
        { query: SUBSCRIBE, variables },
        { next: (m) => (m.data ? target.push(m.data.alarmUpdated) : errors.push(m.errors)), error: (e) => errors.push(e), complete: () => {} },
      );
    const stopAll = subscribe(all, {});
    const stopQuiet = subscribe(ofQuiet, { deviceId: quiet.id });
    const watched: Array<{ alarm_id: string; rev: number; to: string }> = [];
    const watch = grpcClient.WatchAlarms({});
    watch.on('data', (m: { transition: { alarmId: string; rev: string; to: string } }) => watched.push({ alarm_id: m.transition.alarmId, rev: Number(m.transition.rev), to: m.transition.to.replace('ALARM_STATE_', '') }));
    watch.on('error', () => undefined);
    const probeAlarm = `${probe}.${quiet.id}`;
    for (let n = 0; !(all.some((u) => u.ruleId === probe) && ofQuiet.some((u) => u.ruleId === probe) && watched.some((w) => w.alarm_id === probeAlarm)); n++) {
      if (n > 200) throw new Error('subscribers never became live');
      await ok(n % 2 === 0 ? DISABLE : ENABLE, { id: probeAlarm });
      await platform.alarms.flush();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }

    // Act 1: above 30 from base, held 60 s of event time (published out of order)
    const base = Date.now() - 600_000;
    await boiler.send(base + 60_000, { temperature: 32 });
    await boiler.send(base, { temperature: 31 });
    await boiler.send(base + 30_000, { temperature: 31.5 });
    await boiler.settled(base + 60_000);
    const fired = (await ok(ALARM, { id: hotAlarm })).alarm;
    // Act 2: hovering inside the band 28..30 and above 30 again: no flapping
    for (const [i, value] of [29.5, 30.5, 29, 31, 28.5].entries()) await boiler.send(base + 70_000 + i * 10_000, { temperature: value });
    await boiler.settled(base + 110_000);
    const hovering = (await ok(ALARM, { id: hotAlarm })).alarm;
    // Act 3: acknowledge, then below the clear threshold
    const acked = (await ok(ACK, { id: hotAlarm, note: 'valve opened' })).acknowledgeAlarm;
    await boiler.send(base + 120_000, { temperature: 27 });
    await boiler.settled(base + 120_000);
    const cleared = (await ok(ALARM, { id: hotAlarm })).alarm;
    // Act 4: the latched rule: fires, clears to LATCHED, the acknowledgement releases it
    await boiler.send(base + 130_000, { temperature: 55 });
    await boiler.settled(base + 130_000);
    const stats = (await ok(STATS)).stats.activeAlarms;
    await boiler.send(base + 140_000, { temperature: 20 });
    await boiler.settled(base + 140_000);
    const latched = (await ok(ALARM, { id: scaldingAlarm })).alarm;
    const released = (await ok(ACK, { id: scaldingAlarm })).acknowledgeAlarm;
    // Act 5: snooze for 1 s; the sweep ends it
    const snoozed = (await ok(SNOOZE, { id: hotAlarm, s: 1 })).snoozeAlarm;
    const woke = await waitFor(async () => {
      const alarm = (await ok(ALARM, { id: hotAlarm })).alarm;
      return alarm.state === 'NORMAL' ? alarm : undefined;
    }, 'the snooze to end');
    // Act 6: disabled alarms ignore readings; enable returns to NORMAL
    const disabled = (await ok(DISABLE, { id: hotAlarm })).disableAlarm;
    for (let i = 0; i < 8; i++) await boiler.send(base + 150_000 + i * 10_000, { temperature: 45 });
    await boiler.settled(base + 220_000);
    const stillDisabled = (await ok(ALARM, { id: hotAlarm })).alarm;
    const enabled = (await ok(ENABLE, { id: hotAlarm })).enableAlarm;
    // Act 7: the quiet device: ACTIVE after 10 s without data, NORMAL when it speaks
    const silentActive = await waitFor(async () => {
      const result = await gql(ALARM, { id: silentAlarm });
      return result.data?.alarm?.state === 'ACTIVE' ? result.data.alarm : undefined;
    }, 'the no-data alarm');
    const spoke = Date.now();
    await quiet.send(spoke, { temperature: 21 });
    await quiet.settled(spoke);
    const silentCleared = (await ok(ALARM, { id: silentAlarm })).alarm;
    // Every delivery settles before this last transition arrives everywhere.
    await ok(DISABLE, { id: silentAlarm });
    await platform.alarms.flush();
    await waitFor(() => (all.some((u) => u.id === silentAlarm && u.state === 'DISABLED') ? true : undefined), 'the last update');
    await waitFor(() => (watched.some((w) => w.alarm_id === silentAlarm && w.to === 'DISABLED') ? true : undefined), 'the last watch message');
    const list = (await ok(LIST, { filter: { deviceId: boiler.id }, limit: 1 })).alarms;
    const page2 = (await ok(LIST, { filter: { deviceId: boiler.id }, limit: 1, nextToken: list.nextToken })).alarms;
    const device = (await ok(DEVICE, { id: boiler.id })).device;
    const hotHistory = (await ok(ALARM, { id: hotAlarm })).alarm.history.items;
    const events = await readAlarmEvents(alarmEventsFile(t.dataDir));
    stopAll();
    stopQuiet();
    watch.cancel();

    // Assess: the state model
    expect(fired).toMatchObject({ state: 'ACTIVE', rev: 1, severity: 'HIGH', lastTransition: { from: 'NORMAL', to: 'ACTIVE', actor: 'system', value: 32, eventTime: new Date(base + 60_000).toISOString() } });
    expect(hovering).toMatchObject({ state: 'ACTIVE', rev: 1 });
    expect(acked).toMatchObject({ state: 'ACKNOWLEDGED', rev: 2, lastTransition: { actor: 'ops', note: 'valve opened' } });
    expect(cleared).toMatchObject({ state: 'NORMAL', rev: 3, lastTransition: { from: 'ACKNOWLEDGED', value: 27 } });
    expect(stats).toContainEqual({ severity: 'CRITICAL', count: 1 });
    expect(latched).toMatchObject({ state: 'LATCHED', rev: 2 });
    expect(released).toMatchObject({ state: 'NORMAL', rev: 3 });
    expect(snoozed).toMatchObject({ state: 'SNOOZE_DISABLED', rev: 4 });
    expect(woke).toMatchObject({ rev: 5, lastTransition: { from: 'SNOOZE_DISABLED', reason: 'snooze ended', actor: 'system' } });
    expect(disabled).toMatchObject({ state: 'DISABLED', rev: 6 });
    expect(stillDisabled).toMatchObject({ state: 'DISABLED', rev: 6 });
    expect(enabled).toMatchObject({ state: 'NORMAL', rev: 7 });
    expect(silentActive).toMatchObject({ state: 'ACTIVE', rev: 1, severity: 'LOW' });
    expect(silentCleared).toMatchObject({ state: 'NORMAL', rev: 2, lastTransition: { reason: 'the device sent data again' } });
    expect(hotHistory.map((t: { rev: number }) => t.rev)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(device.alarms.map((a: { id: string }) => a.id).sort()).toEqual([hotAlarm, scaldingAlarm].sort());
    expect([...list.items, ...page2.items].map((a: { id: string }) => a.id).sort()).toEqual([hotAlarm, scaldingAlarm].sort());

    // Assess: every transition exactly once on each path
    expect(errors).toEqual([]);
    const key = (alarm: string, rev: number) => `${alarm}#${rev}`;
    const expected = [
      ...[1, 2, 3, 4, 5, 6, 7].map((rev) => key(hotAlarm, rev)),
      ...[1, 2, 3].map((rev) => key(scaldingAlarm, rev)),
      ...[1, 2, 3].map((rev) => key(silentAlarm, rev)),
    ].sort();
    const notProbe = <T extends { id?: string; alarmId?: string; alarm_id?: string }>(list: T[]) => list.filter((x) => (x.id ?? x.alarmId ?? x.alarm_id) !== probeAlarm);
    expect(notProbe(all).map((u) => key(u.id, u.transition.rev)).sort()).toEqual(expected);
    expect(notProbe(watched).map((w) => key(w.alarm_id, w.rev)).sort()).toEqual(expected);
    expect(notProbe(events).map((e) => e.eventId).sort()).toEqual(expected);
    for (const event of events) expect(schemaViolations(ALARM_EVENT_JSON_SCHEMA, event)).toEqual([]);
    expect(ofQuiet.filter((u) => u.id === silentAlarm).map((u) => u.transition.rev)).toEqual([1, 2, 3]);
    expect(ofQuiet.every((u) => u.deviceId === quiet.id)).toBe(true);
    const probes = all.filter((u) => u.id === probeAlarm).map((u) => u.transition.rev);
    expect(new Set(probes).size).toBe(probes.length);
  }, 120_000);
});
