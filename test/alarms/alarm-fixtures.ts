/** Rule and reading factories shared by the alarm tests. */
import type { AlarmCondition, AlarmRule } from '../../src/alarms/alarm-rule.js';
import type { AlarmReading } from '../../src/alarms/alarm-evaluator.js';

export const RULE_ID = '0b7f2c1e-5d4a-4e8b-9c3f-2a1b0c9d8e7f';
export const DEVICE_ID = '6f1c9a2e-3b4d-4c5e-8f7a-1b2c3d4e5f60';

/** A MEDIUM rule on every device: temperature > 30 for 300 s, clearing below 28, ack required. */
export function testRule(overrides: Partial<AlarmRule> & { condition?: AlarmCondition } = {}): AlarmRule {
  return {
    id: RULE_ID,
    name: 'hot',
    description: '',
    severity: 'MEDIUM',
    target: { kind: 'ALL' },
    condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30, clearThreshold: 28, forSeconds: 300 },
    latch: false,
    ackRequired: true,
    notify: true,
    version: 1,
    createdAt: '2026-11-01T00:00:00.000Z',
    updatedAt: '2026-11-01T00:00:00.000Z',
    ...overrides,
  };
}

/** A temperature reading at `s` seconds after T0, seq = s. */
export const T0 = Date.parse('2026-11-29T08:00:00.000Z');
export function temp(s: number, value: number): AlarmReading {
  return { ts: T0 + s * 1000, seq: s, metrics: { temperature: value } };
}
