import { describe, expect, it } from 'vitest';
import { ConfigError, configReader } from '../../src/contracts/config-reader.js';

describe('configReader', () => {
  it('returns trimmed values and treats blank as unset', () => {
    // Prepare
    const read = configReader({ A: '  a ', BLANK: '  ' });

    // Act / Assess
    expect(read.required('A')).toBe('a');
    expect(read.optional('BLANK')).toBeUndefined();
    expect(read.optional('MISSING')).toBeUndefined();
  });

  it.each(['MISSING', 'BLANK'])('throws a ConfigError naming %s when a required variable is unset or blank', (name) => {
    // Act
    const read = () => configReader({ BLANK: '' }).required(name);

    // Assess
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(new RegExp(`^${name}: is required`));
  });

  it('reads integers in range, with the fallback when unset', () => {
    // Prepare
    const read = configReader({ N: '42', OUT: '70000', TEXT: 'abc', FRACTION: '1.5' });
    const range = { fallback: 7, min: 0, max: 65_535 };

    // Act / Assess
    expect(read.integer('N', range)).toBe(42);
    expect(read.integer('UNSET', range)).toBe(7);
    for (const name of ['OUT', 'TEXT', 'FRACTION']) expect(() => read.integer(name, range)).toThrow(new RegExp(`^${name}: must be an integer in 0..65535`));
  });

  it('reads true and false only', () => {
    // Prepare
    const read = configReader({ T: 'true', F: 'false', BAD: 'TRUE' });

    // Act / Assess
    expect(read.boolean('T', false)).toBe(true);
    expect(read.boolean('F', true)).toBe(false);
    expect(read.boolean('UNSET', true)).toBe(true);
    expect(() => read.boolean('BAD', true)).toThrow(/^BAD: must be true or false, got "TRUE"/);
  });

  it('accepts only the listed choices and shows no more than the start of a wrong value', () => {
    // Prepare
    const read = configReader({ KIND: 'b', WRONG: `x${'y'.repeat(100)}` });

    // Act / Assess
    expect(read.oneOf('KIND', ['a', 'b'])).toBe('b');
    expect(() => read.oneOf('WRONG', ['a', 'b'])).toThrow(/^WRONG: must be one of a, b, got "xy{39}…"$/);
    expect(() => read.oneOf('UNSET', ['a'])).toThrow(/^UNSET: is required/);
  });
});
