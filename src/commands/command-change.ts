import type { Command } from './command.js';

/** One status transition of a command, fanned out to commandUpdated and WatchCommands watchers. */
export interface CommandChange {
  readonly command: Command;
  /** The status before; absent when the command was just created. */
  readonly previousStatus?: Command['status'];
  /** ISO time the change was captured. */
  readonly changedAt: string;
  /** Stream sequence, padded (see change-sequence.ts); increases per command. */
  readonly sequence: string;
}

/** Fans a command change out to one kind of watcher. */
export interface CommandChangePublisher {
  publish(change: CommandChange): Promise<void>;
}
