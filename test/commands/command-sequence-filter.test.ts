import { describe, expect, it } from 'vitest';
import type { Command, CommandStatus } from '../../src/commands/command.js';
import type { CommandChange } from '../../src/commands/command-change.js';
import { CommandSequenceFilter } from '../../src/commands/command-sequence-filter.js';
import { padSequence } from '../../src/domain/change-sequence.js';

const transition = (id: string, status: CommandStatus, sequence: number): CommandChange => ({
  command: { id, deviceId: 'device-1', name: 'blink', payload: {}, timeoutSeconds: 60, expiresAt: '2026-11-30T00:00:00.000Z', status, createdBy: 'test', createdAt: '2026-11-29T00:00:00.000Z', version: sequence } as Command,
  changedAt: '2026-11-29T00:00:00.000Z',
  sequence: padSequence(sequence),
});

describe('CommandSequenceFilter', () => {
  it('accepts each transition once, in increasing sequence per command, and drops a redelivered or older one', () => {
    // Prepare
    const filter = new CommandSequenceFilter();

    // Act
    const accepted = [
      transition('a', 'CREATED', 10),
      transition('b', 'CREATED', 5),
      transition('a', 'CREATED', 10),
      transition('a', 'IN_PROGRESS', 20),
      transition('b', 'IN_PROGRESS', 7),
      transition('a', 'CREATED', 10),
    ].map((change) => filter.accept(change));

    // Assess
    expect(accepted).toEqual([true, true, false, true, true, false]);
  });

  it('still drops the redelivery of a final transition, forgetting finished commands oldest first beyond its bound', () => {
    // Prepare
    const filter = new CommandSequenceFilter(2);
    filter.accept(transition('a', 'IN_PROGRESS', 1));

    // Act
    const final = filter.accept(transition('a', 'SUCCEEDED', 2));
    const redelivered = filter.accept(transition('a', 'SUCCEEDED', 2));
    filter.accept(transition('b', 'FAILED', 3));
    filter.accept(transition('c', 'TIMED_OUT', 4));

    // Assess
    expect([final, redelivered]).toEqual([true, false]);
    expect(filter.size).toBe(2);
    expect(filter.accept(transition('c', 'TIMED_OUT', 4))).toBe(false);
    expect(filter.accept(transition('a', 'SUCCEEDED', 2))).toBe(true);
  });
});
