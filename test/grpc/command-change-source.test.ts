import { describe, expect, it } from 'vitest';
import type { Command, CommandStatus } from '../../src/commands/command.js';
import type { CommandChange } from '../../src/commands/command-change.js';
import { commandChangeTopic } from '../../src/contracts/topics.js';
import { padSequence } from '../../src/domain/change-sequence.js';
import { subscribeToCommandChanges } from '../../src/grpc/command-change-source.js';
import { MemoryBus } from '../support/memory-bus.js';
import { recordingLogger, silentLogger } from '../support/recording-logger.js';

const DEVICE = '55555555-5555-4555-8555-555555555555';
const transition = (status: CommandStatus, sequence: number): CommandChange => ({
  command: { id: '77777777-7777-4777-8777-777777777777', deviceId: DEVICE, name: 'blink', payload: {}, timeoutSeconds: 60, expiresAt: '2026-11-30T00:00:00.000Z', status, createdBy: 'test', createdAt: '2026-11-29T00:00:00.000Z', version: sequence } as Command,
  ...(status !== 'CREATED' && { previousStatus: 'CREATED' as const }),
  changedAt: '2026-11-29T00:00:00.000Z',
  sequence: padSequence(sequence),
});

describe('subscribeToCommandChanges', () => {
  it('relays each transition once: a transition published again (the change feed is at least once) is dropped by its sequence', async () => {
    // Prepare
    const bus = new MemoryBus();
    const source = await subscribeToCommandChanges(bus, silentLogger);
    const got: CommandChange[] = [];
    source.subscribe((c) => got.push(c));
    const [created, succeeded] = [transition('CREATED', 3), transition('SUCCEEDED', 9)];

    // Act
    for (const change of [created, created, succeeded, created, succeeded]) await bus.publish(commandChangeTopic(DEVICE), JSON.stringify(change));

    // Assess
    expect(got).toEqual([created, succeeded]);
  });

  it('drops and logs a transition without a sequence', async () => {
    // Prepare
    const bus = new MemoryBus();
    const logger = recordingLogger();
    const source = await subscribeToCommandChanges(bus, logger);
    const got: CommandChange[] = [];
    source.subscribe((c) => got.push(c));
    const { sequence: _dropped, ...unsequenced } = transition('CREATED', 3);

    // Act
    await bus.publish(commandChangeTopic(DEVICE), JSON.stringify(unsequenced));

    // Assess
    expect(got).toEqual([]);
    expect(logger.lines).toMatchObject([{ level: 'warn', topic: commandChangeTopic(DEVICE) }]);
  });
});
