import type { Command, CommandStatus, DeviceAnswerStatus, LateAnswer } from '../commands/command.js';
import type { Json } from '../domain/json-document.js';
import type { PageCursor } from './device-repository.js';

/** A listing of one device's commands, newest first. */
export interface ListCommandsQuery {
  readonly deviceId: string;
  readonly limit: number;
  readonly status?: CommandStatus;
  readonly after?: PageCursor;
}

/** One page of commands; `next` is absent on the last page. */
export interface CommandPage {
  readonly items: Command[];
  readonly next?: PageCursor;
}

/** A status change and what goes with it. */
export interface CommandTransition {
  readonly to: CommandStatus;
  readonly at: string;
  readonly statusReason?: string;
  readonly result?: Json;
  /**
   * Device answers only: the transition applies only while the deadline has not passed at
   * `at`, so an answer racing the timeout cannot overwrite TIMED_OUT or beat it.
   */
  readonly beforeDeadline?: boolean;
  /** Timeouts only: the transition applies only once the deadline has passed at `at`. */
  readonly afterDeadline?: boolean;
  /** The transition applies only while the command waits for delivery (CREATED, not sent). */
  readonly onlyAwaitingDelivery?: boolean;
}

/** Where a queue read resumes: the last command of the previous page. */
export interface QueueCursor {
  readonly id: string;
  readonly createdAt: string;
}

/**
 * Persistence of commands. Every write is conditional, so each status transition is
 * recorded at most once whoever races it (device redeliveries, the timeout sweep, cancel).
 */
export interface CommandRepository {
  /**
   * Inserts a command (queued for delivery); returns the stored command when its id already
   * exists (the idempotent retry of a client token) instead of overwriting it.
   */
  create(command: Command, requestHash: string): Promise<{ created: boolean; command: Command; requestHash?: string }>;
  get(id: string): Promise<Command | undefined>;
  list(query: ListCommandsQuery): Promise<CommandPage>;
  /**
   * Ids of a device's unacknowledged commands, oldest first: those waiting for delivery and
   * those sent that the device has not answered yet (it may not have been subscribed).
   */
  queued(deviceId: string, limit: number, after?: QueueCursor): Promise<string[]>;
  /**
   * Marks a waiting command sent (sentAt, deadline = sentAt + timeout, no re-drive check);
   * undefined when it no longer waits (delivered by someone else, canceled, timed out).
   */
  claimForDelivery(id: string, sentAt: string): Promise<Command | undefined>;
  /**
   * Makes a claimed command wait again after its publish failed, counting the failure and
   * checking it again at `redriveAt`; undefined when it moved on meanwhile.
   */
  unclaim(id: string, sentAt: string, redriveAt: string): Promise<Command | undefined>;
  /**
   * Sets (or, when undefined, drops) the re-drive check of a command as last read, re-keying
   * it in the deadline index; false when the command changed since (its version moved).
   */
  reschedule(command: Command, redriveAt: string | undefined): Promise<boolean>;
  /** Applies a transition if the command is in one of `allowedPredecessors(to)`; undefined when it is not. */
  transition(id: string, transition: CommandTransition): Promise<Command | undefined>;
  /** Keeps the first answer that came after the command was final; false when one is already kept. */
  recordLateAnswer(id: string, answer: LateAnswer): Promise<boolean>;
  /**
   * Ids of commands that are not final and whose deadline or re-drive check (nextCheckAt) is
   * at or before `now`, earliest first.
   */
  overdue(now: string, limit: number): Promise<string[]>;
}

/** What a device answer asks for, as parsed from its response message. */
export interface DeviceAnswer {
  readonly commandId: string;
  readonly status: DeviceAnswerStatus;
  readonly statusReason?: string;
  readonly result?: Json;
}
