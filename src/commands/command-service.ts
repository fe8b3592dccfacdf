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
import { canonicalJson, commandIdForToken, isAwaitingDelivery, isTerminal, type Command } from './command.js';
import { commandEnvelope, type CommandAnswer } from './command-messages.js';
import { timeOutCommand } from './command-timeouts.js';
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

/** What one sweep did. */
export interface CommandSweepSummary {
  /** Commands past their deadline, now TIMED_OUT. */
  readonly timedOut: number;
  /** Commands published by the re-drive (to devices ONLINE with commands still waiting). */
  readonly redelivered: number;
  /** Commands whose device was OFFLINE at their re-drive check: they wait for its next subscription. */
  readonly parked: number;
  /** Commands given up on after maxDeliveryAttempts failed publishes, now FAILED. */
  readonly gaveUp: number;
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
  /** Told when a publish failed (the command waits again, for the re-drive or the device's next subscription). */
  readonly onDeliveryError?: (error: unknown, command: Command) => void;
  /** How long after it was stored, or after a failed publish, the sweep checks that a waiting command reached its ONLINE device. @default DEFAULT_REDRIVE_AFTER_MS */
  readonly redriveAfterMs?: number;
  /** Failed publishes after which the sweep gives a waiting command up (FAILED). @default DEFAULT_MAX_DELIVERY_ATTEMPTS */
  readonly maxDeliveryAttempts?: number;
}

/** Default of {@link CommandServiceDeps.redriveAfterMs}: long enough for a connecting device's subscription to drain its queue first. */
export const DEFAULT_REDRIVE_AFTER_MS = 30_000;
/** Default of {@link CommandServiceDeps.maxDeliveryAttempts}. */
export const DEFAULT_MAX_DELIVERY_ATTEMPTS = 5;
/** Due commands read per index query by the sweep. */
const SWEEP_PAGE = 100;

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
    // Every command gets a re-drive check: if nothing delivered it by then (a failed publish,
    // a crash, a subscription that drained the queue just before it was stored), the sweep does.
    const redriveAt = new Date(now.getTime() + this.redriveAfterMs).toISOString();
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
      redriveAt,
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
   * Delivers a device's unacknowledged commands in creation order (on its subscription to the
   * command topic, and from the re-drive); returns how many were published. Waiting ones are
   * claimed and published; sent ones the device has not answered yet are published again, as
   * the device may have connected but not yet subscribed when they were sent (a clean session
   * drops them), and a device takes the same id twice as one command. The connected and
   * subscribed events are handled concurrently, so it first waits (up to onlineWaitMs) for the
   * registry to show the device ONLINE: a send that read OFFLINE before that is then
   * guaranteed to be in the queue. The re-drive publishes only the waiting ones
   * (`republishUnanswered: false`) and does not wait (`waitForOnline: false`).
   */
  async deliverQueued(deviceId: string, options: { waitForOnline?: boolean; republishUnanswered?: boolean } = {}): Promise<number> {
    const republish = options.republishUnanswered ?? true;
    const waitUntil = Date.now() + (options.waitForOnline === false ? 0 : (this.deps.onlineWaitMs ?? DEFAULT_ONLINE_WAIT_MS));
    while (!(await this.deps.presence.isOnline(deviceId))) {
      if (Date.now() >= waitUntil) return 0;
      await new Promise((resolve) => setTimeout(resolve, ONLINE_POLL_MS));
    }
    let sent = 0;
    let after: { id: string; createdAt: string } | undefined;
    for (;;) {
      const ids = await this.deps.commands.queued(deviceId, QUEUE_PAGE, after);
      for (const id of ids) {
        const command = await this.deps.commands.get(id);
        if (!command) continue;
        after = { id: command.id, createdAt: command.createdAt };
        // A failed publish stops the drain: a later command must not overtake it.
        const published = await (isAwaitingDelivery(command) ? this.deliver(id) : republish && command.status === 'CREATED' ? this.publish(command) : Promise.resolve(undefined)).catch(
          () => 'failed' as const,
        );
        if (published === 'failed') return sent;
        if (published) sent++;
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
      current = (await timeOutCommand(this.deps.commands, current, at)) ?? (await this.deps.commands.get(command.id)) ?? current;
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

  /**
   * The scheduled sweep over the deadline index (never a scan): times out every command past
   * its deadline, and re-drives each waiting command whose re-drive check is due: published
   * now (with its device's other waiting commands, in order) when the device is ONLINE, left
   * for its next subscription when it is not, given up (FAILED) after maxDeliveryAttempts
   * failed publishes.
   */
  async sweep(): Promise<CommandSweepSummary> {
    const now = this.clock().toISOString();
    const maxAttempts = this.deps.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS;
    let timedOut = 0;
    let redelivered = 0;
    let parked = 0;
    let gaveUp = 0;
    const seen = new Set<string>();
    const online = new Map<string, boolean>();
    for (;;) {
      const ids = await this.deps.commands.overdue(now, SWEEP_PAGE);
      // Entries handled this run that the index still lists (GSIs are eventually consistent) are not read twice.
      const unseen = ids.filter((id) => !seen.has(id));
      for (const id of unseen) {
        seen.add(id);
        const command = await this.deps.commands.get(id);
        if (!command || isTerminal(command.status)) continue;
        if (command.deadlineAt !== undefined && command.deadlineAt <= now) {
          if (await timeOutCommand(this.deps.commands, command, now)) timedOut++;
        } else if (!isAwaitingDelivery(command)) {
          // Sent or answered since its re-drive check was set: it is due at its deadline only.
          await this.deps.commands.reschedule(command, undefined);
        } else if ((command.failedDeliveries ?? 0) >= maxAttempts) {
          const reason = `not delivered: ${command.failedDeliveries} publishes to ${command.deviceId} failed`;
          if (await this.deps.commands.transition(id, { to: 'FAILED', at: now, statusReason: reason, onlyAwaitingDelivery: true })) gaveUp++;
        } else if (!online.has(command.deviceId)) {
          const isOnline = (await this.deps.presence.isOnline(command.deviceId)) === true;
          online.set(command.deviceId, isOnline);
          // Only what still waits: a sent command reached the session the device subscribed with.
          if (isOnline) redelivered += await this.deliverQueued(command.deviceId, { waitForOnline: false, republishUnanswered: false });
          else if (await this.deps.commands.reschedule(command, undefined)) parked++;
        } else if (!online.get(command.deviceId)) {
          if (await this.deps.commands.reschedule(command, undefined)) parked++;
        }
        // Else its ONLINE device was drained this run; what is still waiting is due again next run.
      }
      if (ids.length < SWEEP_PAGE || unseen.length === 0) return { timedOut, redelivered, parked, gaveUp };
    }
  }

  /** Claims and publishes one waiting command; undefined when it no longer waited. Throws when the publish failed (it waits again, for the re-drive). */
  private async deliver(id: string): Promise<Command | undefined> {
    const sentAt = this.clock().toISOString();
    const claimed = await this.deps.commands.claimForDelivery(id, sentAt);
    if (!claimed) return undefined;
    try {
      await this.publish(claimed);
    } catch (error) {
      const redriveAt = new Date(this.clock().getTime() + this.redriveAfterMs).toISOString();
      await this.deps.commands.unclaim(id, sentAt, redriveAt);
      this.deps.onDeliveryError?.(error, claimed);
      throw error;
    }
    return claimed;
  }

  /** Publishes a command's envelope to its device (QoS 1). */
  private async publish(command: Command): Promise<Command> {
    const envelope = commandEnvelope(command);
    await this.deps.messenger.send({
      topic: commandTopic(command.deviceId),
      payload: JSON.stringify(envelope),
      responseTopic: envelope.responseTopic,
      correlationData: envelope.correlationData,
    });
    return command;
  }

  private get redriveAfterMs(): number {
    return this.deps.redriveAfterMs ?? DEFAULT_REDRIVE_AFTER_MS;
  }
}
