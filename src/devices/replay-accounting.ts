/**
 * Counts what a replay stored and dead-lettered by decorating the ingest function's own ports,
 * each reading once however often a retry sends it: stored by (thing, seq), letters by (stream
 * sequence number, point). The handler's composition stays the one the Lambda runs.
 */
import type { DeadLetter, DeadLetterQueue } from '../ports/dead-letter.js';
import type { TelemetryWriter } from '../ports/telemetry-store.js';

/** Readings stored and letters sent through the decorated ports. */
export class ReplayAccounting {
  private readonly stored = new Set<string>();
  private readonly letters = new Set<string>();
  private anonymous = 0;

  /** `writer`, counting every point it reports stored. */
  telemetry(writer: TelemetryWriter): TelemetryWriter {
    return {
      write: async (points) => {
        const result = await writer.write(points);
        const rejected = new Set(result.rejected.map((r) => r.point));
        for (const point of points) if (!rejected.has(point)) this.stored.add(`${point.deviceId}\u0000${point.seq}`);
        return result;
      },
    };
  }

  /** `queue`, counting every letter it accepted. */
  deadLetters(queue: DeadLetterQueue): DeadLetterQueue {
    return {
      send: async (letters: readonly DeadLetter[]) => {
        await queue.send(letters);
        for (const letter of letters) {
          if (letter.sequenceNumber === undefined) this.anonymous += 1;
          else this.letters.add(`${letter.sequenceNumber}\u0000${letter.pointIndex ?? ''}`);
        }
      },
    };
  }

  /** Totals so far. */
  counts(): { stored: number; deadLettered: number } {
    return { stored: this.stored.size, deadLettered: this.letters.size + this.anonymous };
  }
}
