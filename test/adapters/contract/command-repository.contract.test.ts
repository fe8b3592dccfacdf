/**
 * One set of cases for every CommandRepository: the DynamoDB one (on dynalite) and the in-memory
 * one must agree on idempotent creation, the queue, claims, monotonic transitions with their
 * deadline conditions, late answers, overdue reads (deadlines and re-drive checks) and listing.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../../src/commands/command.js';
import { DynamoDbCommandRepository } from '../../../src/adapters/dynamodb/command-repository.js';
import { InMemoryCommandRepository } from '../../../src/adapters/memory/in-memory-command-repository.js';
import { COMMANDS_TABLE } from '../../../src/contracts/tables.js';
import type { CommandRepository } from '../../../src/ports/command-repository.js';
import { useLocalDynamo } from '../../support/local-dynamo.js';

const dynamo = useLocalDynamo({ tables: [COMMANDS_TABLE], prefix: 'contract-' });
const table = dynamo.table(COMMANDS_TABLE);

const T0 = Date.parse('2026-11-29T10:00:00.000Z');
const iso = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();
const commandOf = (deviceId: string, n: number, timeoutSeconds = 60): Command => ({
  id: randomUUID(),
  deviceId,
  name: `step-${n}`,
  payload: { n },
  timeoutSeconds,
  expiresAt: iso(86_400_000),
  status: 'CREATED',
  createdBy: 'contract',
  createdAt: iso(n),
  version: 1,
});

describe.each([
  { name: 'DynamoDB (dynalite)', make: (): CommandRepository => new DynamoDbCommandRepository(dynamo.doc, table) },
  { name: 'in memory', make: (): CommandRepository => new InMemoryCommandRepository() },
])('CommandRepository contract: $name', ({ make }) => {
  it('creates once: the same id again returns the stored command and its request hash', async () => {
    // Prepare
    const repository = make();
    const command = commandOf(randomUUID(), 1);

    // Act
    const first = await repository.create(command, 'hash-a');
    const again = await repository.create({ ...command, name: 'other' }, 'hash-b');

    // Assess
    expect(first.created).toBe(true);
    expect(again).toMatchObject({ created: false, requestHash: 'hash-a', command: { id: command.id, name: 'step-1', status: 'CREATED', deadlineAt: command.expiresAt } });
    expect(await repository.get(command.id)).toMatchObject({ name: 'step-1', deadlineAt: command.expiresAt, version: 1 });
  });

  it('queues oldest first until the device answers, claims once, and takes a command back only from the claim that took it', async () => {
    // Prepare
    const repository = make();
    const device = randomUUID();
    const commands = [commandOf(device, 3), commandOf(device, 1), commandOf(device, 2)];
    for (const command of commands) await repository.create(command, 'h');

    // Act
    const queue = await repository.queued(device, 10);
    const claimed = await repository.claimForDelivery(commands[1]!.id, iso(1000));
    const claimedAgain = await repository.claimForDelivery(commands[1]!.id, iso(2000));
    const afterClaim = await repository.queued(device, 10);
    const wrongUnclaim = await repository.unclaim(commands[1]!.id, iso(2000), iso(31_000));
    const unclaim = await repository.unclaim(commands[1]!.id, iso(1000), iso(31_000));
    const nextPage = await repository.queued(device, 10, { id: commands[1]!.id, createdAt: commands[1]!.createdAt });
    await repository.claimForDelivery(commands[2]!.id, iso(3000));
    await repository.transition(commands[2]!.id, { to: 'IN_PROGRESS', at: iso(4000), beforeDeadline: true });

    // Assess
    expect(queue).toEqual([commands[1]!.id, commands[2]!.id, commands[0]!.id]);
    expect(claimed).toMatchObject({ sentAt: iso(1000), deadlineAt: iso(61_000), version: 2 });
    expect(claimedAgain).toBeUndefined();
    // Sent but not answered: still queued, so the device's next subscription publishes it again.
    expect(afterClaim).toEqual([commands[1]!.id, commands[2]!.id, commands[0]!.id]);
    expect(wrongUnclaim).toBeUndefined();
    expect(unclaim).toMatchObject({ deadlineAt: commands[1]!.expiresAt, redriveAt: iso(31_000), failedDeliveries: 1, version: 3 });
    expect(unclaim?.sentAt).toBeUndefined();
    expect(nextPage).toEqual([commands[2]!.id, commands[0]!.id]);
    // An answer is the acknowledgement: the command leaves the queue.
    expect(await repository.queued(device, 10)).toEqual([commands[1]!.id, commands[0]!.id]);
  });

  it('lists a waiting command as due at its re-drive check, re-keys it, and gives it up only while it waits', async () => {
    // Prepare
    const repository = make();
    const device = randomUUID();
    const ids = (xs: string[], mine: Command[]) => xs.filter((id) => mine.some((c) => c.id === id));
    const waiting = { ...commandOf(device, 1), redriveAt: iso(30_000) };
    const delivered = { ...commandOf(device, 2), redriveAt: iso(30_000) };
    const failing = { ...commandOf(device, 3), redriveAt: iso(30_000) };
    const mine = [waiting, delivered, failing];
    for (const command of mine) await repository.create(command, 'h');
    await repository.claimForDelivery(delivered.id, iso(1000));
    await repository.claimForDelivery(failing.id, iso(1000));
    const back = await repository.unclaim(failing.id, iso(1000), iso(45_000));

    // Act
    const dueAtCheck = ids(await repository.overdue(iso(30_000), 100), mine);
    const dueLater = ids(await repository.overdue(iso(61_000), 100), mine);
    const read = (await repository.get(waiting.id))!;
    const parked = await repository.reschedule(read, undefined);
    const stale = await repository.reschedule(read, iso(40_000));
    const dueAfterPark = ids(await repository.overdue(iso(61_000), 100), mine);
    const notWaiting = await repository.transition(delivered.id, { to: 'FAILED', at: iso(50_000), statusReason: 'given up', onlyAwaitingDelivery: true });
    const gaveUp = await repository.transition(failing.id, { to: 'FAILED', at: iso(50_000), statusReason: 'given up', onlyAwaitingDelivery: true });

    // Assess
    expect(dueAtCheck).toEqual([waiting.id]);
    expect(dueLater).toEqual([waiting.id, failing.id, delivered.id]);
    expect(back).toMatchObject({ redriveAt: iso(45_000), failedDeliveries: 1 });
    expect([parked, stale]).toEqual([true, false]);
    expect((await repository.get(waiting.id))?.redriveAt).toBeUndefined();
    expect(dueAfterPark).toEqual([failing.id, delivered.id]);
    expect(notWaiting).toBeUndefined();
    expect(gaveUp).toMatchObject({ status: 'FAILED', statusReason: 'given up', completedAt: iso(50_000) });
    expect(gaveUp?.redriveAt).toBeUndefined();
    expect(ids(await repository.overdue(iso(100_000_000), 100), mine)).toEqual([delivered.id, waiting.id]);
  });

  it('moves only forward, once per transition, an answer only before the deadline and a timeout only after it', async () => {
    // Prepare
    const repository = make();
    const answered = commandOf(randomUUID(), 1, 10);
    const silent = commandOf(randomUUID(), 1, 10);
    for (const command of [answered, silent]) {
      await repository.create(command, 'h');
      await repository.claimForDelivery(command.id, iso(0));
    }

    // Act
    const progress = await repository.transition(answered.id, { to: 'IN_PROGRESS', at: iso(1000), beforeDeadline: true });
    const progressAgain = await repository.transition(answered.id, { to: 'IN_PROGRESS', at: iso(2000), beforeDeadline: true });
    const early = await repository.transition(answered.id, { to: 'TIMED_OUT', at: iso(3000), afterDeadline: true });
    const done = await repository.transition(answered.id, { to: 'SUCCEEDED', at: iso(4000), beforeDeadline: true, result: { ok: true } });
    const cancel = await repository.transition(answered.id, { to: 'CANCELED', at: iso(5000) });
    const late = await repository.transition(silent.id, { to: 'SUCCEEDED', at: iso(10_000), beforeDeadline: true });
    const timedOut = await repository.transition(silent.id, { to: 'TIMED_OUT', at: iso(10_000), afterDeadline: true, statusReason: 'no answer' });
    const kept = await repository.recordLateAnswer(silent.id, { status: 'SUCCEEDED', receivedAt: iso(11_000) });
    const keptAgain = await repository.recordLateAnswer(silent.id, { status: 'FAILED', receivedAt: iso(12_000) });

    // Assess
    expect(progress).toMatchObject({ status: 'IN_PROGRESS', version: 3 });
    expect([progressAgain, early, cancel, late]).toEqual([undefined, undefined, undefined, undefined]);
    expect(done).toMatchObject({ status: 'SUCCEEDED', result: { ok: true }, completedAt: iso(4000), version: 4 });
    expect(done?.deadlineAt).toBeUndefined();
    expect(timedOut).toMatchObject({ status: 'TIMED_OUT', statusReason: 'no answer', completedAt: iso(10_000) });
    expect([kept, keptAgain]).toEqual([true, false]);
    expect(await repository.get(silent.id)).toMatchObject({ status: 'TIMED_OUT', lateAnswer: { status: 'SUCCEEDED', receivedAt: iso(11_000) } });
  });

  it('reads overdue commands oldest deadline first, never a final one', async () => {
    // Prepare
    const repository = make();
    const device = randomUUID();
    const soon = commandOf(device, 1, 5);
    const later = commandOf(device, 2, 20);
    const finished = commandOf(device, 3, 1);
    for (const command of [soon, later, finished]) {
      await repository.create(command, 'h');
      await repository.claimForDelivery(command.id, iso(0));
    }
    await repository.transition(finished.id, { to: 'SUCCEEDED', at: iso(500), beforeDeadline: true });

    // Act
    const overdue = (await repository.overdue(iso(30_000), 100)).filter((id) => [soon.id, later.id, finished.id].includes(id));
    const notYet = (await repository.overdue(iso(4_000), 100)).filter((id) => [soon.id, later.id, finished.id].includes(id));

    // Assess
    expect(overdue).toEqual([soon.id, later.id]);
    expect(notYet).toEqual([]);
  });

  it('lists newest first in pages, filters by status after the page limit, and refuses another listing\'s cursor', async () => {
    // Prepare
    const repository = make();
    const device = randomUUID();
    const commands = [commandOf(device, 1), commandOf(device, 2), commandOf(device, 3)];
    for (const command of commands) await repository.create(command, 'h');
    await repository.transition(commands[0]!.id, { to: 'CANCELED', at: iso(100) });

    // Act
    const first = await repository.list({ deviceId: device, limit: 2 });
    const second = await repository.list({ deviceId: device, limit: 2, ...(first.next && { after: first.next }) });
    const canceled = await repository.list({ deviceId: device, limit: 10, status: 'CANCELED' });
    const foreign = await repository.list({ deviceId: randomUUID(), limit: 2, ...(first.next && { after: first.next }) }).catch((error: unknown) => error);

    // Assess
    expect(first.items.map((c) => c.id)).toEqual([commands[2]!.id, commands[1]!.id]);
    expect(first.next).toBeDefined();
    expect(second.items.map((c) => c.id)).toEqual([commands[0]!.id]);
    expect(second.next).toBeUndefined();
    expect(canceled.items.map((c) => c.id)).toEqual([commands[0]!.id]);
    expect(foreign).toMatchObject({ code: 'VALIDATION' });
  });
});
