import { describe, expect, it } from 'vitest';
import { InMemoryAlarmStore } from '../../src/adapters/memory/in-memory-alarm-store.js';
import type { AlarmRule, AlarmTarget } from '../../src/alarms/alarm-rule.js';
import { ACTIVE_RECHECK_MS, SilenceSchedule, sweepAlarms } from '../../src/alarms/alarm-sweep.js';
import type { DeviceHeard, DeviceSilenceSource } from '../../src/alarms/device-silence.js';
import { CachedRules } from '../../src/alarms/rule-cache.js';
import { T0, testRule } from './alarm-fixtures.js';

/** Devices in memory, counting which ones the sweep reads. */
class MemorySilence implements DeviceSilenceSource {
  readonly reads: string[][] = [];
  constructor(readonly devices: Map<string, DeviceHeard & { type: string }>) {}
  async targetIds(target: AlarmTarget) {
    const all = [...this.devices.values()];
    const ids = target.kind === 'DEVICE' ? [target.deviceId] : all.filter((d) => target.kind === 'ALL' || d.type === target.deviceType).map((d) => d.id);
    return { ids };
  }
  async heard(ids: readonly string[]) {
    this.reads.push([...ids].sort());
    return new Map(ids.flatMap((id) => (this.devices.has(id) ? [[id, this.devices.get(id)!] as const] : [])));
  }
}

const RULE_A = '11111111-1111-4111-8111-111111111111';
const RULE_P = '22222222-2222-4222-8222-222222222222';
const at = (s: number) => T0 + s * 1000;

async function fixture() {
  const store = new InMemoryAlarmStore();
  const created = new Date(at(-3600)).toISOString();
  const silent: AlarmRule = testRule({ id: RULE_A, name: 'silent', createdAt: created, updatedAt: created, condition: { kind: 'NO_DATA', seconds: 600 } });
  const pressure: AlarmRule = testRule({ id: RULE_P, name: 'no pressure', createdAt: created, updatedAt: created, condition: { kind: 'NO_DATA', seconds: 300, metric: 'p' } });
  await store.createRule(silent);
  await store.createRule(pressure);
  const device = (id: string, lastSeen: number, p: number) => [id, { id, type: 'meter', createdAt: at(-7200), lastSeen: at(lastSeen), metricSeenAt: { p: at(p) } }] as const;
  // a: talks, p too; b: talks, p stopped at -200 s; c: silent since -500 s, p since -250 s
  const devices = new MemorySilence(new Map([device('a', 0, 0), device('b', 0, -200), device('c', -500, -250)]));
  const schedule = new SilenceSchedule();
  const sweep = (s: number, options: { schedule?: SilenceSchedule } = {}) =>
    sweepAlarms({ store, rules: new CachedRules(store, 0), devices, schedule: options.schedule ?? schedule, ruleCacheMs: 0, now: () => at(s) });
  return { store, devices, schedule, sweep };
}

describe('sweepAlarms', () => {
  it('reads a device only once it can be due, fires whole-device and per-metric silence apart, and reads everything again with a new schedule', async () => {
    // Prepare
    const { store, devices, sweep } = await fixture();

    // Act: sweeps every minute from t=0
    const first = await sweep(0);
    const second = await sweep(60); // c's p: 300 s reached at 50
    const third = await sweep(120); // c: 600 s reached at 100; b's p: 300 s at 100
    const fourth = await sweep(180);
    const cold = await sweep(240, { schedule: new SilenceSchedule() });

    // Assess
    expect(first).toMatchObject({ devicesListed: 3, devicesChecked: 3, transitions: 0 });
    expect(second).toMatchObject({ devicesListed: 3, devicesChecked: 1, transitions: 1 });
    expect(third).toMatchObject({ devicesChecked: 2, transitions: 2 });
    expect(devices.reads.slice(1, 3)).toEqual([['c'], ['b', 'c']]);
    expect((await store.getInstance(RULE_P, 'c'))?.last).toMatchObject({ to: 'ACTIVE', eventTime: at(-250), reason: 'no p for 300 s (silent for 310 s)' });
    expect((await store.getInstance(RULE_A, 'c'))?.state).toBe('ACTIVE');
    expect((await store.getInstance(RULE_P, 'b'))?.state).toBe('ACTIVE');
    expect(await store.getInstance(RULE_A, 'b')).toBeUndefined();
    expect(await store.getInstance(RULE_A, 'a')).toBeUndefined();
    // The ACTIVE alarms are rechecked for a while (b and c); a is not due yet.
    expect(fourth).toMatchObject({ devicesChecked: 2, transitions: 0 });
    expect(devices.reads[3]).toEqual(['b', 'c']);
    expect(cold).toMatchObject({ devicesChecked: 3, transitions: 0 });
  });

  it('stops rechecking an ACTIVE no-data alarm once the ingest path surely sees it, and clears it when the device spoke within that time', async () => {
    // Prepare
    const { store, devices, sweep } = await fixture();
    await sweep(0);
    const c = devices.devices.get('c')!;

    // Act: c speaks (p too) before the recheck window ends; b never speaks again
    await sweep(60);
    await sweep(120);
    devices.devices.set('c', { ...c, lastSeen: at(130), metricSeenAt: { p: at(130) } });
    const spoke = await sweep(180);
    const cleared = [(await store.getInstance(RULE_A, 'c'))?.last, (await store.getInstance(RULE_P, 'c'))?.last];
    const late = await sweep(120 + ACTIVE_RECHECK_MS / 1000 + 1);

    // Assess
    expect(spoke.transitions).toBe(2);
    expect(cleared[0]).toMatchObject({ from: 'ACTIVE', to: 'NORMAL', reason: 'the device sent data again' });
    expect(cleared[1]).toMatchObject({ to: 'NORMAL', reason: 'the device sent p again' });
    // b's pressure alarm has been ACTIVE longer than the recheck window, and b is not due otherwise: not read.
    expect(devices.reads.at(-1)).toEqual(['a', 'c']);
    expect(late.transitions).toBe(2);
  });
});
