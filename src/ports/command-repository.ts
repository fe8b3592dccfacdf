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
  /** Ids of a device's queued (undelivered) commands, oldest first. */
  queued(deviceId: string, limit: number): Promise<string[]>;
  /**
   * Takes a queued command out of the queue for delivery (sentAt, deadline = sentAt + timeout);
   * undefined when it is no longer queued (delivered by someone else, canceled, timed out).
   */
  claimForDelivery(id: string, sentAt: string): Promise<Command | undefined>;
  /** Puts a claimed command back in the queue after its publish failed; false when it moved on meanwhile. */
  unclaim(id: string, sentAt: string): Promise<boolean>;
  /** Applies a transition if the command is in one of `allowedPredecessors(to)`; undefined when it is not. */
  transition(id: string, transition: CommandTransition): Promise<Command | undefined>;
  /** Keeps the first answer that came after the command was final; false when one is already kept. */
  recordLateAnswer(id: string, answer: LateAnswer): Promise<boolean>;
  /** Ids of commands whose deadline is at or before `now` and that are not final, oldest deadline first. */
  overdue(now: string, limit: number): Promise<string[]>;
}

/** What a device answer asks for, as parsed from its response message. */
export interface DeviceAnswer {
  readonly commandId: string;
  readonly status: DeviceAnswerStatus;
  readonly statusReason?: string;
  readonly result?: Json;
}
