/**
 * The command use cases, shared by every door (GraphQL, gRPC, CLI) and by the device-facing
 * handlers (answers, subscriptions, the timeout sweep). Each status transition is one
 * conditional write, so it is recorded once whoever races it; a command is published to its
 * device only after it was claimed out of the queue, so two deliverers never both send it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { PageTokenCodec } from '../domain/page-token.js';
import { commandTopic } from '../contracts/topics.js';
import { validateDeviceId, validateLimit } from '../domain/validation.js';
import type { DevicePresence, DeviceMessenger } from '../ports/device-messenger.js';
import type { CommandRepository } from '../ports/command-repository.js';
import { canonicalJson, commandIdForToken, isTerminal, type Command } from './command.js';
import { commandEnvelope, type CommandAnswer } from './command-messages.js';
import { sweepCommandTimeouts, timeOutCommand } from './command-timeouts.js';
import {
  validateClientToken,
  validateCommandName,
  validateCommandStatus,
  validateExpiresAt,
  validatePayload,
  validateTimeoutSeconds,
} from './command-validation.js';

/** Input of {@link CommandService.send}. */
export interface SendCommandInput {
  readonly deviceId: unknown;
  readonly name: unknown;
  /** JSON text or value; `{}` when absent. */
  readonly payload?: unknown;
  readonly clientToken?: unknown;
  readonly timeoutSeconds?: unknown;
  readonly expiresAt?: unknown;
}

/** Input of {@link CommandService.list}. */
export interface ListCommandsInput {
  readonly deviceId: unknown;
  readonly status?: unknown;
  readonly limit?: unknown;
  readonly pageToken?: unknown;
}

/** One page of commands, newest first. */
export interface CommandListPage {
  readonly items: Command[];
  readonly nextPageToken?: string;
}

/** What became of a device's answer. */
export type AnswerOutcome = 'applied' | 'duplicate' | 'late' | 'unknown-command' | 'not-own-command';

/** Ports of {@link CommandService}. */
export interface CommandServiceDeps {
  readonly commands: CommandRepository;
  readonly presence: DevicePresence;
  readonly messenger: DeviceMessenger;
  readonly pageTokens: PageTokenCodec;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** @default crypto.randomUUID */
  readonly newId?: () => string;
  /** How long a drain waits for the device's ONLINE status. @default DEFAULT_ONLINE_WAIT_MS */
  readonly onlineWaitMs?: number;
  /** Told when a publish failed (the command stays queued for the device's next subscription). */
  readonly onDeliveryError?: (error: unknown, command: Command) => void;
}

/** How long a drain waits for the presence handler to record ONLINE. */
export const DEFAULT_ONLINE_WAIT_MS = 5000;
const ONLINE_POLL_MS = 50;
/** Queued commands read per query while draining a device's queue. */
const QUEUE_PAGE = 25;

/** Command use cases. Every method validates its input before any I/O. */
export class CommandService {
  private readonly clock: () => Date;
  private readonly newId: () => string;

  constructor(private readonly deps: CommandServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.newId = deps.newId ?? randomUUID;
  }

  /**
   * Creates a command and delivers it now when the device is online, else queues it until the
   * device subscribes again (or expiresAt). The same clientToken with the same parameters
   * returns the first command; with other parameters it is a ConflictError.
   */
  async send(input: SendCommandInput, createdBy: string): Promise<Command> {
    if (typeof input !== 'object' || input === null) throw new ValidationError('send input must be an object');
    const deviceId = validateDeviceId(input.deviceId, 'deviceId');
    const name = validateCommandName(input.name);
    const payload = validatePayload(input.payload);
    const clientToken = validateClientToken(input.clientToken);
    const timeoutSeconds = validateTimeoutSeconds(input.timeoutSeconds);
    const now = this.clock();
    const expiresAt = validateExpiresAt(input.expiresAt, now);
    if ((await this.deps.presence.isOnline(deviceId)) === undefined) throw new NotFoundError(`device ${deviceId} does not exist`);

    // What makes two sends "the same": the caller's own parameters, not the defaults filled in.
    const requestHash = createHash('sha256')
      .update(canonicalJson({ name, payload, timeoutSeconds, expiresAt: typeof input.expiresAt === 'string' && input.expiresAt !== '' ? expiresAt : null }))
      .digest('hex');
    const createdAt = now.toISOString();
    const command: Command = {
      id: clientToken ? commandIdForToken(deviceId, clientToken) : this.newId(),
      deviceId,
      name,
      payload,
      ...(clientToken && { clientToken }),
      timeoutSeconds,
      expiresAt,
      status: 'CREATED',
      createdBy,
      createdAt,
      deadlineAt: expiresAt,
      version: 1,
    };
    const stored = await this.deps.commands.create(command, requestHash);
    if (!stored.created) {
      if (stored.requestHash !== requestHash) {
        throw new ConflictError(`clientToken ${clientToken} was already used for command ${stored.command.id} with other parameters`);
      }
      return stored.command;
    }
    // Presence is read after the write: the drain on the device's subscription waits for ONLINE
    // before it reads the queue, so either this read sees ONLINE or that drain sees the command.
    if (!(await this.deps.presence.isOnline(deviceId))) return command;
    // A failed publish leaves the command queued for the device's next subscription, not an error.
    const delivered = await this.deliver(command.id).catch(() => undefined);
    return delivered ?? (await this.deps.commands.get(command.id)) ?? command;
  }

  /** One command. NotFoundError when absent. */
  async get(id: unknown): Promise<Command> {
    const commandId = validateDeviceId(id, 'id');
    const command = await this.deps.commands.get(commandId);
    if (!command) throw new NotFoundError(`command ${commandId} does not exist`);
    return command;
  }

  /** A device's commands, newest first, optionally of one status. */
  async list(input: ListCommandsInput): Promise<CommandListPage> {
    const deviceId = validateDeviceId(input.deviceId, 'deviceId');
    const status = validateCommandStatus(input.status);
    const limit = validateLimit(input.limit);
    const scope = { kind: 'commands', deviceId, status };
    const after = input.pageToken === undefined || input.pageToken === null || input.pageToken === '' ? undefined : this.deps.pageTokens.decode(input.pageToken, scope);
    const page = await this.deps.commands.list({ deviceId, limit, ...(status && { status }), ...(after && { after }) });
    return { items: page.items, ...(page.next && { nextPageToken: this.deps.pageTokens.encode(page.next, scope) }) };
  }

  /** Cancels a command that is still CREATED (queued or sent but not started). ConflictError otherwise. */
  async cancel(id: unknown, canceledBy: string): Promise<Command> {
    const command = await this.get(id);
    const canceled = await this.deps.commands.transition(command.id, { to: 'CANCELED', at: this.clock().toISOString(), statusReason: `canceled by ${canceledBy}` });
    if (canceled) return canceled;
    const current = await this.get(command.id);
    throw new ConflictError(`command ${current.id} is ${current.status}; only a CREATED command can be canceled`);
  }

  /**
   * Delivers a device's queued commands in creation order (on its subscription to the command
   * topic); returns how many were sent. The connected and subscribed events are handled
   * concurrently, so it first waits (up to onlineWaitMs) for the registry to show the device
   * ONLINE: a send that read OFFLINE before that is then guaranteed to be in the queue.
   */
  async deliverQueued(deviceId: string): Promise<number> {
    const waitUntil = Date.now() + (this.deps.onlineWaitMs ?? DEFAULT_ONLINE_WAIT_MS);
    while (!(await this.deps.presence.isOnline(deviceId))) {
      if (Date.now() >= waitUntil) return 0;
      await new Promise((resolve) => setTimeout(resolve, ONLINE_POLL_MS));
    }
    let sent = 0;
    for (;;) {
      const ids = await this.deps.commands.queued(deviceId, QUEUE_PAGE);
      if (ids.length === 0) return sent;
      for (const id of ids) {
        // A failed publish stops the drain: a later command must not overtake it.
        const delivered = await this.deliver(id).catch(() => 'failed' as const);
        if (delivered === 'failed') return sent;
        if (delivered) sent++;
      }
      if (ids.length < QUEUE_PAGE) return sent;
    }
  }

  /** Records a device's answer; `thingName` is the device that sent it (from its topic, so from its identity). */
  async answer(thingName: string, answer: CommandAnswer): Promise<AnswerOutcome> {
    const command = await this.deps.commands.get(answer.commandId);
    if (!command) return 'unknown-command';
    if (command.deviceId !== thingName) return 'not-own-command';
    const at = this.clock().toISOString();
    const applied = await this.deps.commands.transition(command.id, {
      to: answer.status,
      at,
      beforeDeadline: true,
      ...(answer.statusReason !== undefined && { statusReason: answer.statusReason }),
      ...(answer.result !== undefined && { result: answer.result }),
    });
    if (applied) return 'applied';
    let current = (await this.deps.commands.get(command.id)) ?? command;
    if (!isTerminal(current.status) && current.deadlineAt !== undefined && current.deadlineAt <= at) {
      // The sweep has not run yet, but the deadline is the deadline: time out first, then keep the answer as late.
      current = (await this.timeOut(current.id, at)) ?? (await this.deps.commands.get(command.id)) ?? current;
    }
    // Not final: a repeated IN_PROGRESS (QoS 1 redelivery). Final with the same status: a repeated final answer.
    // IN_PROGRESS after a final status: answers are processed concurrently, so it was overtaken, not late.
    if (!isTerminal(current.status) || current.status === answer.status || answer.status === 'IN_PROGRESS') return 'duplicate';
    await this.deps.commands.recordLateAnswer(current.id, {
      status: answer.status,
      receivedAt: at,
      ...(answer.statusReason !== undefined && { statusReason: answer.statusReason }),
      ...(answer.result !== undefined && { result: answer.result }),
    });
    return 'late';
  }

  /** Times out every command whose deadline has passed; returns how many. */
  sweepTimeouts(): Promise<number> {
    return sweepCommandTimeouts(this.deps.commands, this.clock().toISOString());
  }

  private timeOut(id: string, at: string): Promise<Command | undefined> {
    return timeOutCommand(this.deps.commands, id, at);
  }

  /** Claims and publishes one queued command; undefined when it was no longer queued. Throws when the publish failed (it is queued again). */
  private async deliver(id: string): Promise<Command | undefined> {
    const sentAt = this.clock().toISOString();
    const claimed = await this.deps.commands.claimForDelivery(id, sentAt);
    if (!claimed) return undefined;
    const envelope = commandEnvelope(claimed);
    try {
      await this.deps.messenger.send({
        topic: commandTopic(claimed.deviceId),
        payload: JSON.stringify(envelope),
        responseTopic: envelope.responseTopic,
        correlationData: envelope.correlationData,
      });
    } catch (error) {
      await this.deps.commands.unclaim(id, sentAt);
      this.deps.onDeliveryError?.(error, claimed);
      throw error;
    }
    return claimed;
  }
}
