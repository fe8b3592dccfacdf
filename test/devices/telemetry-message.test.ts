import { describe, expect, it } from 'vitest';
import { DEFAULT_TELEMETRY_LIMITS, parseTelemetry, type RejectReason } from '../../src/devices/telemetry-message.js';

const NOW = Date.parse('2026-11-26T12:00:00.000Z');
const bytes = (text: string) => Buffer.from(text, 'utf8');
const reasonOf = (payload: Uint8Array): RejectReason | 'ok' => {
  const result = parseTelemetry(payload, NOW);
  return result.ok ? 'ok' : result.reason;
};

describe('parseTelemetry', () => {
  it('returns the message with ts in epoch ms when ts is ISO-8601', () => {
    // Prepare
    const payload = bytes(JSON.stringify({ v: 1, ts: '2026-11-26T11:59:59.500Z', seq: 7, metrics: { t: 21.5, on: true, mode: 'eco' } }));

    // Act
    const result = parseTelemetry(payload, NOW);

    // Assess
    expect(result).toEqual({ ok: true, message: { v: 1, ts: NOW - 500, seq: 7, metrics: { t: 21.5, on: true, mode: 'eco' } } });
  });

  it('accepts epoch milliseconds and ISO times with an offset', () => {
    expect(reasonOf(bytes(JSON.stringify({ v: 1, ts: NOW, seq: 0, metrics: { a: 1 } })))).toBe('ok');
    expect(parseTelemetry(bytes(JSON.stringify({ v: 1, ts: '2026-11-26T13:00:00+01:00', seq: 0, metrics: { a: 1 } })), NOW)).toMatchObject({
      ok: true,
      message: { ts: NOW },
    });
  });

  it.each<[string, Uint8Array, RejectReason]>([
    ['an oversized payload', bytes(`{"v":1,"ts":${NOW},"seq":1,"metrics":{"s":"${'x'.repeat(130 * 1024)}"}}`), 'PAYLOAD_TOO_LARGE'],
    ['an empty payload', new Uint8Array(0), 'EMPTY_PAYLOAD'],
    ['invalid UTF-8', Uint8Array.from([0x7b, 0xc3, 0x28, 0x7d]), 'INVALID_UTF8'],
    ['truncated JSON', bytes('{"v":1,"ts":'), 'INVALID_JSON'],
    ['NaN literal', bytes(`{"v":1,"ts":${NOW},"seq":1,"metrics":{"t":NaN}}`), 'INVALID_JSON'],
    ['an array', bytes('[1,2]'), 'NOT_AN_OBJECT'],
    ['deep nesting', bytes(`{"v":1,"ts":${NOW},"seq":1,"metrics":{"a":${'['.repeat(50)}${']'.repeat(50)}}}`), 'TOO_DEEP'],
    ['version 3', bytes(JSON.stringify({ v: 3, ts: NOW, seq: 1, metrics: { a: 1 } })), 'UNSUPPORTED_VERSION'],
    ['no seq', bytes(JSON.stringify({ v: 1, ts: NOW, metrics: { a: 1 } })), 'MISSING_FIELD'],
    ['an unknown field', bytes(JSON.stringify({ v: 1, ts: NOW, seq: 1, metrics: { a: 1 }, extra: 1 })), 'UNKNOWN_FIELD'],
    ['seq as a string', bytes(JSON.stringify({ v: 1, ts: NOW, seq: '1', metrics: { a: 1 } })), 'WRONG_TYPE'],
    ['a negative seq', bytes(JSON.stringify({ v: 1, ts: NOW, seq: -1, metrics: { a: 1 } })), 'INVALID_SEQUENCE'],
    ['a metric overflowing to Infinity', bytes(`{"v":1,"ts":${NOW},"seq":1,"metrics":{"t":1e999}}`), 'NON_FINITE_NUMBER'],
    ['a zone-less ISO time', bytes(JSON.stringify({ v: 1, ts: '2026-11-26T12:00:00', seq: 1, metrics: { a: 1 } })), 'INVALID_TIMESTAMP'],
    ['a time 8 days old', bytes(JSON.stringify({ v: 1, ts: NOW - 8 * 86_400_000, seq: 1, metrics: { a: 1 } })), 'TIMESTAMP_TOO_OLD'],
    ['a time an hour ahead', bytes(JSON.stringify({ v: 1, ts: NOW + 3_600_000, seq: 1, metrics: { a: 1 } })), 'TIMESTAMP_IN_FUTURE'],
    ['no metrics', bytes(JSON.stringify({ v: 1, ts: NOW, seq: 1, metrics: {} })), 'NO_METRICS'],
    ['a bad metric name', bytes(JSON.stringify({ v: 1, ts: NOW, seq: 1, metrics: { 'a b': 1 } })), 'INVALID_METRIC_NAME'],
    ['a null metric', bytes(JSON.stringify({ v: 1, ts: NOW, seq: 1, metrics: { a: null } })), 'WRONG_TYPE'],
  ])('refuses %s', (_name, payload, reason) => {
    // Act
    const result = parseTelemetry(payload, NOW);

    // Assess
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toBe(reason);
    expect(!result.ok && result.detail.length).toBeGreaterThan(0);
  });

  it('refuses more metrics than the limit and accepts exactly the limit', () => {
    const metrics = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, i]));
    expect(reasonOf(bytes(JSON.stringify({ v: 1, ts: NOW, seq: 1, metrics: metrics(DEFAULT_TELEMETRY_LIMITS.maxMetrics) })))).toBe('ok');
    expect(reasonOf(bytes(JSON.stringify({ v: 1, ts: NOW, seq: 1, metrics: metrics(DEFAULT_TELEMETRY_LIMITS.maxMetrics + 1) })))).toBe(
      'TOO_MANY_METRICS',
    );
  });
});
