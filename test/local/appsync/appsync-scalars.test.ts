import { Kind } from 'graphql';
import { describe, expect, it } from 'vitest';
import { APPSYNC_SCALARS } from '../../../src/local/appsync/appsync-scalars.js';

const cases: Record<string, { valid: unknown[]; invalid: unknown[] }> = {
  AWSDateTime: {
    valid: ['2026-11-26T17:00:00Z', '2026-11-26T17:00:00.123456789Z', '1970-01-01T12:00Z', '2024-02-29T00:00:00-07:00', '2026-01-01T00:00:00+05:30:15', '-2017-01-01T00:00Z'],
    invalid: ['2026-11-26T17:00:00', '2026-02-30T00:00:00Z', '2026-11-26 17:00:00Z', '2026-13-01T00:00:00Z', '2026-11-26T24:00:00Z', 'yesterday', '', 1700000000],
  },
  AWSDate: { valid: ['2026-11-26', '1970-01-01Z', '1970-01-01-07:00'], invalid: ['2026-02-29', '26-11-2026', '2026-11-26T00:00:00Z'] },
  AWSTime: { valid: ['12:30', '12:30:24', '12:30:24.500Z', '23:59:59+05:30'], invalid: ['24:00', '12:60', '1230', '12:30:24.'] },
  AWSTimestamp: { valid: [0, -1, 1_795_713_340], invalid: [1.5, '1795713340', Number.MAX_SAFE_INTEGER + 1] },
  AWSEmail: { valid: ['ops@example.com', 'a.b+c@sub.example.org'], invalid: ['ops@', '@example.com', 'ops example.com', 'ops@example'] },
  AWSURL: { valid: ['https://example.com/a/b?c=d', 'mailto:ops@example.com'], invalid: ['example.com', 'https://example.com/a//b', ''] },
  AWSPhone: { valid: ['+49 30 1234567', '555-123-4567', '+14155552671'], invalid: ['call me', '12', '+'] },
  AWSIPAddress: { valid: ['10.0.0.1', '10.0.0.0/8', '::1', '2001:db8::/32'], invalid: ['10.0.0.256', '10.0.0.0/33', '2001:db8::/129', 'localhost'] },
};

describe('AppSync scalars', () => {
  for (const [name, { valid, invalid }] of Object.entries(cases)) {
    it(`accepts valid ${name} values as variables and refuses invalid ones with a ValidationError`, () => {
      // Prepare
      const scalar = APPSYNC_SCALARS[name as keyof typeof APPSYNC_SCALARS];

      // Act / Assess
      for (const value of valid) expect(scalar.parseValue(value), JSON.stringify(value)).toBe(value);
      for (const value of invalid) {
        expect(() => scalar.parseValue(value), JSON.stringify(value)).toThrow(`Invalid ${name} value`);
      }
    });
  }

  it('parses AWSJSON text into a value for resolvers, serializes values back to text, and refuses text that is not JSON', () => {
    // Prepare
    const json = APPSYNC_SCALARS.AWSJSON;

    // Act / Assess
    expect(json.parseValue('{"site":"berlin","floors":[1,2]}')).toEqual({ site: 'berlin', floors: [1, 2] });
    expect(json.parseLiteral({ kind: Kind.STRING, value: '[true, null]' }, {})).toEqual([true, null]);
    expect(json.serialize({ a: 1 })).toBe('{"a":1}');
    expect(() => json.parseValue('{site: berlin')).toThrow('Invalid AWSJSON value');
    expect(() => json.parseValue({ already: 'an object' })).toThrow('Invalid AWSJSON value');
    expect(() => json.parseLiteral({ kind: Kind.INT, value: '3' }, {})).toThrow('Invalid AWSJSON value');
  });

  it('refuses a non-string literal for a string scalar', () => {
    // Act / Assess
    expect(() => APPSYNC_SCALARS.AWSDateTime.parseLiteral({ kind: Kind.INT, value: '1700000000' }, {})).toThrow('Invalid AWSDateTime value');
  });
});
