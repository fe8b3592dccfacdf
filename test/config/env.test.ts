import { describe, expect, it } from 'vitest';
import { requiredVariable } from '../../src/config/env.js';

describe('requiredVariable', () => {
  it('returns the value of a set variable', () => {
    // Prepare
    const required = requiredVariable({ TABLE: 'Devices' });

    // Act
    const value = required('TABLE');

    // Assess
    expect(value).toBe('Devices');
  });

  it('throws naming the variable when it is unset or empty', () => {
    // Prepare
    const required = requiredVariable({ EMPTY: '' });

    // Act / Assess
    expect(() => required('MISSING')).toThrow('Missing environment variable MISSING');
    expect(() => required('EMPTY')).toThrow('Missing environment variable EMPTY');
  });
});
