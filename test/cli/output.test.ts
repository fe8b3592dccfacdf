import { afterEach, describe, expect, it } from 'vitest';
import { reportingErrors } from '../../src/cli/output.js';
import { ValidationError } from '../../src/domain/errors.js';

describe('reportingErrors', () => {
  afterEach(() => {
    process.exitCode = 0;
  });

  it('writes one line naming the command and sets exit code 1 when the action throws', async () => {
    // Prepare
    const errors: string[] = [];
    const action = reportingErrors('device', (line) => errors.push(line), async (name: string) => {
      throw new ValidationError(`name ${name} is too long`, 'name');
    });

    // Act
    await action('x');

    // Assess
    expect(errors).toEqual(['iotctl device: name x is too long']);
    expect(process.exitCode).toBe(1);
  });

  it('passes the arguments through and writes nothing when the action succeeds', async () => {
    // Prepare
    const errors: string[] = [];
    const seen: unknown[] = [];
    const action = reportingErrors('simulate', (line) => errors.push(line), async (a: number, b: string) => {
      seen.push(a, b);
    });

    // Act
    await action(1, 'two');

    // Assess
    expect(seen).toEqual([1, 'two']);
    expect(errors).toEqual([]);
    expect(process.exitCode ?? 0).toBe(0);
  });
});
