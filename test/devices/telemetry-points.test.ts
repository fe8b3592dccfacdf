import { describe, expect, it } from 'vitest';
import { MAX_POINTS_PER_MESSAGE, parseTelemetryPayload } from '../../src/devices/telemetry-message.js';

const NOW = Date.parse('2026-11-26T12:00:00.000Z');
const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

describe('parseTelemetryPayload', () => {
  it('reads a version-1 message as one point, unchanged', () => {
    // Act
    const result = parseTelemetryPayload(json({ v: 1, ts: NOW, seq: 3, metrics: { t: 1 } }), NOW);

    // Assess
    expect(result).toEqual({ ok: true, version: 1, points: [{ ok: true, reading: { v: 1, ts: NOW, seq: 3, metrics: { t: 1 } } }] });
  });

  it('refuses a bad version-1 message whole, as before', () => {
    expect(parseTelemetryPayload(json({ v: 1, ts: NOW, seq: -1, metrics: { t: 1 } }), NOW)).toMatchObject({ ok: false, reason: 'INVALID_SEQUENCE' });
  });

  it('validates each point of a version-2 message alone', () => {
    // Prepare
    const points = [
      { ts: NOW - 2000, seq: 1, metrics: { t: 20.5 } },
      { ts: NOW - 1000, seq: 2, metrics: { t: 'x'.repeat(2000) } },
      { ts: '2026-11-26T11:59:59Z', seq: 3, metrics: { t: 21, on: true } },
      { ts: NOW, seq: 4.5, metrics: { t: 1 } },
      { ts: NOW, seq: 5, metrics: {} },
      'not a point',
      { ts: NOW, seq: 7, metrics: { t: 1 }, extra: 1 },
      { ts: NOW - 8 * 86_400_000, seq: 8, metrics: { t: 1 } },
      { seq: 9, metrics: { t: 1 } },
    ];

    // Act
    const result = parseTelemetryPayload(json({ v: 2, points }), NOW);

    // Assess
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.version).toBe(2);
    expect(result.points.map((p) => (p.ok ? 'ok' : p.reason))).toEqual([
      'ok', 'STRING_TOO_LONG', 'ok', 'INVALID_SEQUENCE', 'NO_METRICS', 'NOT_AN_OBJECT', 'UNKNOWN_FIELD', 'TIMESTAMP_TOO_OLD', 'MISSING_FIELD',
    ]);
    expect(result.points[2]).toEqual({ ok: true, reading: expect.objectContaining({ ts: NOW - 1000, seq: 3, metrics: { t: 21, on: true } }) });
  });

  it('refuses a version-2 message whole when its frame is wrong', () => {
    const cases: Array<[unknown, string]> = [
      [{ v: 2 }, 'MISSING_FIELD'],
      [{ v: 2, points: {} }, 'WRONG_TYPE'],
      [{ v: 2, points: [] }, 'NO_POINTS'],
      [{ v: 2, points: Array.from({ length: MAX_POINTS_PER_MESSAGE + 1 }, (_, seq) => ({ ts: NOW, seq, metrics: { t: 1 } })) }, 'TOO_MANY_POINTS'],
      [{ v: 2, points: [{ ts: NOW, seq: 1, metrics: { t: 1 } }], ts: NOW }, 'UNKNOWN_FIELD'],
      [{ v: 2, points: [{ ts: NOW, seq: 1, metrics: { t: { a: { b: { c: 1 } } } } }] }, 'TOO_DEEP'],
      [{ v: 3, points: [] }, 'UNSUPPORTED_VERSION'],
    ];
    for (const [message, reason] of cases) expect(parseTelemetryPayload(json(message), NOW)).toMatchObject({ ok: false, reason });
    expect(parseTelemetryPayload(Buffer.from('{"v":2,'), NOW)).toMatchObject({ ok: false, reason: 'INVALID_JSON' });
  });

  it('accepts the full 100 points', () => {
    // Prepare
    const points = Array.from({ length: MAX_POINTS_PER_MESSAGE }, (_, seq) => ({ ts: NOW - seq, seq, metrics: { t: seq } }));

    // Act
    const result = parseTelemetryPayload(json({ v: 2, points }), NOW);

    // Assess
    expect(result.ok && result.points.every((p) => p.ok)).toBe(true);
  });
});
