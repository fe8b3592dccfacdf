/**
 * Drops command transitions already relayed. The change feed publishes at least once: a stream
 * record whose publish failed is redelivered, and every publisher sees it again with the same
 * sequence. A command's sequences increase (one item's stream records), so a transition whose
 * sequence is not above the last one relayed for its command is a duplicate.
 */
import { isTerminal } from './command.js';
import type { CommandChange } from './command-change.js';

/**
 * Finished commands remembered: a final transition is the command's last, so it moves to a
 * bounded list (oldest forgotten first) where it still catches the redelivery that follows a
 * failed publish within seconds, while live commands stay in a map of their own.
 */
export const RECENT_FINISHED_COMMANDS = 10_000;

/** Last relayed sequence per command; `accept` says whether a transition is new. */
export class CommandSequenceFilter {
  private readonly live = new Map<string, string>();
  private readonly finished = new Map<string, string>();

  constructor(private readonly finishedLimit = RECENT_FINISHED_COMMANDS) {}

  /** True (and remembered) when `change` is above every sequence relayed for its command. */
  accept(change: CommandChange): boolean {
    const id = change.command.id;
    const last = this.live.get(id) ?? this.finished.get(id);
    if (last !== undefined && last >= change.sequence) return false;
    if (isTerminal(change.command.status)) {
      this.live.delete(id);
      this.finished.delete(id);
      this.finished.set(id, change.sequence);
      if (this.finished.size > this.finishedLimit) this.finished.delete(this.finished.keys().next().value!);
    } else {
      this.live.set(id, change.sequence);
    }
    return true;
  }

  /** Commands remembered (live + recently finished), for tests of the bound. */
  get size(): number {
    return this.live.size + this.finished.size;
  }
}
