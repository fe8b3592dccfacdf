import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateReadings } from '../../src/alarms/alarm-evaluator.js';
import { ALARM_EVENT_DETAIL_TYPE, ALARM_EVENT_JSON_SCHEMA, ALARM_EVENT_SOURCE, toNotification } from '../../src/alarms/alarm-notification.js';
import { applyAction, normalInstance } from '../../src/alarms/alarm-state.js';
import { DEVICE_ID, T0, temp, testRule } from './alarm-fixtures.js';
import { schemaViolations } from './json-schema-check.js';

const docs = readFileSync(new URL('../../docs/alarms.md', import.meta.url), 'utf8');

describe('alarm events', () => {
  it('documents the schema, source and detail-type the code publishes', () => {
    // Prepare: the JSON block after the schema's heading line in docs/alarms.md
    const section = docs.slice(docs.indexOf('JSON Schema of the detail'));
    const block = /```json\n([\s\S]*?)\n```/.exec(section)![1]!;

    // Assess
    expect(JSON.parse(block)).toEqual(ALARM_EVENT_JSON_SCHEMA);
    expect(docs).toContain(`**\`${ALARM_EVENT_SOURCE}\`**`);
    expect(docs).toContain(`**\`${ALARM_EVENT_DETAIL_TYPE}\`**`);
  });

  it('publishes transitions that conform to the schema, with the same eventId on every delivery', () => {
    // Prepare: a fire, an acknowledgement with a note, a clear
    const rule = testRule({ condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30 } });
    const fired = evaluateReadings(rule, normalInstance(rule, DEVICE_ID, new Date(T0).toISOString()), undefined, [temp(0, 31)], T0).instance;
    const acked = applyAction(fired, rule, { kind: 'ACKNOWLEDGE', note: 'on it' }, 'ops', T0 + 1000);
    const cleared = evaluateReadings(rule, acked, undefined, [temp(10, 20)], T0 + 20_000).instance;

    // Act
    const events = [fired, acked, cleared].map((i) => toNotification(i.last));

    // Assess
    for (const event of events) expect(schemaViolations(ALARM_EVENT_JSON_SCHEMA, JSON.parse(JSON.stringify(event)))).toEqual([]);
    expect(events.map((e) => e.eventId)).toEqual([1, 2, 3].map((rev) => `${rule.id}.${DEVICE_ID}#${rev}`));
    expect(toNotification(fired.last).eventId).toBe(events[0]!.eventId);
    expect(schemaViolations(ALARM_EVENT_JSON_SCHEMA, { ...events[0], extra: 1 })).toEqual(['$.extra: not allowed']);
  });

  it('shows an example event in the docs that conforms to the schema', () => {
    const example = /Example\s+detail:\s*```json\n([\s\S]*?)\n```/.exec(docs)![1]!;
    expect(schemaViolations(ALARM_EVENT_JSON_SCHEMA, JSON.parse(example))).toEqual([]);
  });
});
