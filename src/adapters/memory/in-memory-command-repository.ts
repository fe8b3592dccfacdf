/**
 * Commands in memory, with the DynamoDB repository's semantics: create never overwrites, every
 * change is conditional on the status (and deadline) it starts from, the queue is oldest first,
 * listing newest first with a `{ id, deviceId, createdKey }` cursor and the status filter applied
 * after the page limit, as a DynamoDB filter is. Returns copies.
 */
import { allowedPredecessors, isTerminal, type Command, type LateAnswer } from '../../commands/command.js';
import { ValidationError } from '../../domain/errors.js';
import type { CommandPage, CommandRepository, CommandTransition, ListCommandsQuery } from '../../ports/command-repository.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Entry {
  command: Mutable<Command>;
  readonly requestHash: string;
  /** Waiting in its device's queue (not delivered, not final). */
  queued: boolean;
}

const createdKey = (command: Command) => `${command.createdAt}#${command.id}`;

/** The command repository of tests and benchmarks that need no DynamoDB. */
export class InMemoryCommandRepository implements CommandRepository {
  private readonly entries = new Map<string, Entry>();

  async create(command: Command, requestHash: string): Promise<{ created: boolean; command: Command; requestHash?: string }> {
    const existing = this.entries.get(command.id);
    if (existing) return { created: false, command: structuredClone(existing.command), requestHash: existing.requestHash };
    this.entries.set(command.id, { command: { ...structuredClone(command), deadlineAt: command.expiresAt }, requestHash, queued: true });
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

  async queued(deviceId: string, limit: number): Promise<string[]> {
    return [...this.entries.values()]
      .filter((entry) => entry.queued && entry.command.deviceId === deviceId)
      .map((entry) => entry.command)
      .sort((a, b) => (createdKey(a) < createdKey(b) ? -1 : 1))
      .slice(0, limit)
      .map((command) => command.id);
  }

  async claimForDelivery(id: string, sentAt: string): Promise<Command | undefined> {
    const entry = this.entries.get(id);
    if (!entry || !entry.queued || entry.command.status !== 'CREATED') return undefined;
    entry.queued = false;
    entry.command.sentAt = sentAt;
    entry.command.deadlineAt = new Date(Date.parse(sentAt) + entry.command.timeoutSeconds * 1000).toISOString();
    entry.command.version += 1;
    return structuredClone(entry.command);
  }

  async unclaim(id: string, sentAt: string): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry || entry.command.sentAt !== sentAt || entry.command.status !== 'CREATED') return false;
    entry.queued = true;
    delete entry.command.sentAt;
    entry.command.deadlineAt = entry.command.expiresAt;
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
    const command = entry.command;
    command.status = transition.to;
    command.version += 1;
    entry.queued = false;
    if (transition.statusReason !== undefined) command.statusReason = transition.statusReason;
    if (transition.result !== undefined) command.result = structuredClone(transition.result);
    if (isTerminal(transition.to)) {
      command.completedAt = transition.at;
      delete command.deadlineAt;
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
      .map((entry) => entry.command)
      .filter((command): command is Mutable<Command> & { deadlineAt: string } => command.deadlineAt !== undefined && command.deadlineAt <= now)
      .sort((a, b) => (a.deadlineAt === b.deadlineAt ? (a.id < b.id ? -1 : 1) : a.deadlineAt < b.deadlineAt ? -1 : 1))
      .slice(0, limit)
      .map((command) => command.id);
  }
}
