import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.js';
import {
  metadataFromPairs,
  validateDeviceId,
  validateLimit,
  validateMetadata,
  validateName,
  validateStatus,
  validateType,
} from '../../src/domain/validation.js';

const validationMessage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error('expected a ValidationError');
};

describe('validation', () => {
  it('accepts values at the documented limits', () => {
    // Act / Assess
    expect(validateName('x'.repeat(128))).toHaveLength(128);
    expect(validateName('🌡'.repeat(128))).toBe('🌡'.repeat(128));
    expect(validateType('a'.repeat(64))).toHaveLength(64);
    expect(validateType('temp_sensor-2')).toBe('temp_sensor-2');
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    expect(Object.keys(validateMetadata(fifty))).toHaveLength(50);
    expect(validateMetadata({ ['k'.repeat(128)]: 'v'.repeat(1024) })).toEqual({ ['k'.repeat(128)]: 'v'.repeat(1024) });
    expect(validateLimit(undefined)).toBe(25);
    expect(validateLimit(1)).toBe(1);
    expect(validateLimit(100)).toBe(100);
  });

  it('returns ids lower-case', () => {
    // Act / Assess
    expect(validateDeviceId('123E4567-E89B-12D3-A456-426614174000')).toBe('123e4567-e89b-12d3-a456-426614174000');
  });

  it('rejects each invalid input with a message naming the rule', () => {
    // Act / Assess
    expect(validationMessage(() => validateName(''))).toMatch(/name must not be empty/);
    expect(validationMessage(() => validateName('   '))).toMatch(/name must not be empty/);
    expect(validationMessage(() => validateName('x'.repeat(129)))).toMatch(/at most 128 characters, got 129/);
    expect(validationMessage(() => validateName(7))).toMatch(/name must be a string, got a number/);
    expect(validationMessage(() => validateType('Sensor'))).toMatch(/1-64 characters of a-z/);
    expect(validationMessage(() => validateType(''))).toMatch(/1-64 characters/);
    expect(validationMessage(() => validateType('a'.repeat(65)))).toMatch(/1-64 characters/);
    expect(validationMessage(() => validateType('temp sensor'))).toMatch(/1-64 characters/);
    expect(validationMessage(() => validateStatus('online'))).toMatch(/status must be one of UNKNOWN, ONLINE/);
    expect(validationMessage(() => validateDeviceId('device-1'))).toMatch(/id must be a UUID/);
    expect(validationMessage(() => validateDeviceId(undefined))).toMatch(/id must be a string UUID/);
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    expect(validationMessage(() => validateMetadata(many))).toMatch(/at most 50 entries, got 51/);
    expect(validationMessage(() => validateMetadata({ ['k'.repeat(129)]: 'v' }))).toMatch(/key .* at most 128 characters/);
    expect(validationMessage(() => validateMetadata({ k: 'v'.repeat(1025) }))).toMatch(/value of "k" must be at most 1024 characters/);
    expect(validationMessage(() => validateMetadata({ k: 1 }))).toMatch(/value of "k" must be a string/);
    expect(validationMessage(() => validateMetadata({ '': 'v' }))).toMatch(/keys must be non-empty/);
    expect(validationMessage(() => validateMetadata(['a']))).toMatch(/must be an object/);
    expect(validationMessage(() => validateLimit(0))).toMatch(/integer from 1 to 100, got 0/);
    expect(validationMessage(() => validateLimit(101))).toMatch(/got 101/);
    expect(validationMessage(() => validateLimit(2.5))).toMatch(/got 2.5/);
  });

  it('builds metadata from pairs and rejects a duplicate key', () => {
    // Act
    const metadata = metadataFromPairs([
      { key: 'site', value: 'berlin' },
      { key: 'floor', value: '2' },
    ]);

    // Assess
    expect(metadata.site).toBe('berlin');
    expect(Object.keys(metadata)).toEqual(['site', 'floor']);
    expect(validationMessage(() => metadataFromPairs([{ key: 'a', value: '1' }, { key: 'a', value: '2' }]))).toMatch(
      /key "a" is given more than once/,
    );
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses the metadata key %s in objects and in pairs', (key) => {
    // Prepare
    const object = JSON.parse(`{"site":"north","${key}":"x"}`) as Record<string, string>;

    // Act / Assess
    expect(validationMessage(() => validateMetadata(object))).toMatch(new RegExp(`key "${key}" is reserved`));
    expect(validationMessage(() => metadataFromPairs([{ key, value: 'x' }]))).toMatch(new RegExp(`key "${key}" is reserved`));
  });

  it.each([
    ['NUL', 'a\u0000b', '0000'],
    ['a line break', 'a\nb', '000A'],
    ['ESC (terminal escapes)', 'a\u001b[31mb', '001B'],
    ['a C1 control', 'a\u0085b', '0085'],
    ['a right-to-left override', 'invoice\u202etxt.exe', '202E'],
    ['a bidi isolate', 'a\u2066b', '2066'],
    ['the mix from the field', 'a\u0000\u202e\nb', '0000'],
  ])('refuses a name with %s', (_what, name, code) => {
    expect(validationMessage(() => validateName(name))).toMatch(new RegExp(`U\\+${code}`));
  });

  it('keeps names in any script, with emoji and ordinary spaces', () => {
    expect(validateName('Pumpe Nord 🚰 مضخة 泵')).toBe('Pumpe Nord 🚰 مضخة 泵');
  });
});
