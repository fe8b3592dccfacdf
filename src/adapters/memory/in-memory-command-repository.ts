/**
 * Commands in memory, with the DynamoDB repository's semantics: create never overwrites, every
 * change is conditional on the status (and deadline) it starts from, the queue is oldest first,
 * listing newest first with a `{ id, deviceId, createdKey }` cursor and the status filter applied
 * after the page limit, as a DynamoDB filter is. Returns copies.
 */
import { allowedPredecessors, isTerminal, nextCheckAt, type Command, type LateAnswer } from '../../commands/command.js';
import { ValidationError } from '../../domain/errors.js';
import type { CommandPage, CommandRepository, CommandTransition, ListCommandsQuery, QueueCursor } from '../../ports/command-repository.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Entry {
  command: Mutable<Command>;
  readonly requestHash: string;
  /** In its device's queue: not acknowledged by the device (waiting, or sent without an answer). */
  queued: boolean;
  /** The deadline index key's time (nextCheckAt when last re-keyed); undefined once final. */
  dueAt?: string | undefined;
}

const createdKey = (command: Command) => `${command.createdAt}#${command.id}`;

/** The command repository of tests and benchmarks that need no DynamoDB. */
export class InMemoryCommandRepository implements CommandRepository {
  private readonly entries = new Map<string, Entry>();

  async create(command: Command, requestHash: string): Promise<{ created: boolean; command: Command; requestHash?: string }> {
    const existing = this.entries.get(command.id);
    if (existing) return { created: false, command: structuredClone(existing.command), requestHash: existing.requestHash };
    const stored = { ...structuredClone(command), deadlineAt: command.expiresAt };
    this.entries.set(command.id, { command: stored, requestHash, queued: true, dueAt: nextCheckAt(stored) });
    return { created: true, command };
  }

  async get(id: string): Promise<Command | undefined> {
    const entry = this.entries.get(id);
    return entry && structuredClone(entry.command);
  }

  async list(query: ListCommandsQuery): Promise<CommandPage> {
    const after = query.after;
    if (after && (typeof after.id !== 'string' || typeof after.createdKey !== 'string' || after.deviceId !== query.deviceId)) {
      throw new ValidationError('pageToken does not belong to this listing', 'pageToken');
    }
    const page = [...this.entries.values()]
      .map((entry) => entry.command)
      .filter((command) => command.deviceId === query.deviceId && (!after || createdKey(command) < String(after.createdKey)))
      .sort((a, b) => (createdKey(a) < createdKey(b) ? 1 : -1))
      .slice(0, query.limit);
    const last = page.length === query.limit ? page[page.length - 1] : undefined;
    return {
      items: page.filter((command) => !query.status || command.status === query.status).map((command) => structuredClone(command)),
      ...(last && { next: { id: last.id, deviceId: last.deviceId, createdKey: createdKey(last) } }),
    };
  }

  async queued(deviceId: string, limit: number, after?: QueueCursor): Promise<string[]> {
    const from = after && `${after.createdAt}#${after.id}`;
    return [...this.entries.values()]
      .filter((entry) => entry.queued && entry.command.deviceId === deviceId && (!from || createdKey(entry.command) > from))
      .map((entry) => entry.command)
      .sort((a, b) => (createdKey(a) < createdKey(b) ? -1 : 1))
      .slice(0, limit)
      .map((command) => command.id);
  }

  async claimForDelivery(id: string, sentAt: string): Promise<Command | undefined> {
    const entry = this.entries.get(id);
    if (!entry || !entry.queued || entry.command.sentAt !== undefined || entry.command.status !== 'CREATED') return undefined;
    delete entry.command.redriveAt;
    entry.command.sentAt = sentAt;
    entry.command.deadlineAt = new Date(Date.parse(sentAt) + entry.command.timeoutSeconds * 1000).toISOString();
    entry.dueAt = entry.command.deadlineAt;
    entry.command.version += 1;
    return structuredClone(entry.command);
  }

  async unclaim(id: string, sentAt: string, redriveAt: string): Promise<Command | undefined> {
    const entry = this.entries.get(id);
    if (!entry || entry.command.sentAt !== sentAt || entry.command.status !== 'CREATED') return undefined;
    entry.queued = true;
    delete entry.command.sentAt;
    entry.command.deadlineAt = entry.command.expiresAt;
    entry.command.redriveAt = redriveAt;
    entry.command.failedDeliveries = (entry.command.failedDeliveries ?? 0) + 1;
    entry.dueAt = nextCheckAt(entry.command);
    entry.command.version += 1;
    return structuredClone(entry.command);
  }

  async reschedule(command: Command, redriveAt: string | undefined): Promise<boolean> {
    const entry = this.entries.get(command.id);
    if (!entry || entry.command.version !== command.version || entry.command.deadlineAt === undefined) return false;
    if (redriveAt === undefined) delete entry.command.redriveAt;
    else entry.command.redriveAt = redriveAt;
    entry.dueAt = nextCheckAt({ deadlineAt: command.deadlineAt ?? entry.command.deadlineAt, ...(redriveAt !== undefined && { redriveAt }) });
    entry.command.version += 1;
    return true;
  }

  async transition(id: string, transition: CommandTransition): Promise<Command | undefined> {
    const entry = this.entries.get(id);
    if (!entry || !allowedPredecessors(transition.to).includes(entry.command.status)) return undefined;
    const deadline = entry.command.deadlineAt;
    // As a DynamoDB condition on a missing attribute, a deadline check fails when there is none.
    if (transition.beforeDeadline && !(deadline !== undefined && deadline > transition.at)) return undefined;
    if (transition.afterDeadline && !(deadline !== undefined && deadline <= transition.at)) return undefined;
    if (transition.onlyAwaitingDelivery && !(entry.queued && entry.command.sentAt === undefined)) return undefined;
    const command = entry.command;
    command.status = transition.to;
    command.version += 1;
    entry.queued = false;
    delete command.redriveAt;
    if (transition.statusReason !== undefined) command.statusReason = transition.statusReason;
    if (transition.result !== undefined) command.result = structuredClone(transition.result);
    if (isTerminal(transition.to)) {
      command.completedAt = transition.at;
      delete command.deadlineAt;
      entry.dueAt = undefined;
    }
    return structuredClone(command);
  }

  async recordLateAnswer(id: string, answer: LateAnswer): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry || entry.command.lateAnswer) return false;
    entry.command.lateAnswer = structuredClone(answer);
    entry.command.version += 1;
    return true;
  }

  async overdue(now: string, limit: number): Promise<string[]> {
    return [...this.entries.values()]
      .filter((entry): entry is Entry & { dueAt: string } => entry.dueAt !== undefined && entry.dueAt <= now)
      .sort((a, b) => (a.dueAt === b.dueAt ? (a.command.id < b.command.id ? -1 : 1) : a.dueAt < b.dueAt ? -1 : 1))
      .slice(0, limit)
      .map((entry) => entry.command.id);
  }
}
