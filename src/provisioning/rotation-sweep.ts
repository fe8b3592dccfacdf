/**
 * The rotation sweep: finishes every certificate rotation whose grace period has ended, so a
 * replaced (perhaps leaked) key stops being valid without anyone running `rotate --finish`. It
 * pages the due rotations and hands each to the finish the command line uses (in AWS: revoke
 * and detach the old certificate, then the binding), a few at a time. A device that fails is
 * reported and left for the next run; the others go on. An entry the index still lists after
 * the rotation was finished, revoked, deleted or begun again (the finish's own checks refuse it
 * with CONFLICT or NOT_FOUND) is skipped, not a failure.
 */
import { mapSettled } from '../concurrency/bounded-concurrency.js';
import { isDomainError } from '../domain/errors.js';
import type { DueRotationSource } from '../ports/due-rotations.js';
import { ROTATION_SWEEP_CONCURRENCY } from '../contracts/rotation-sweep.js';
import type { FinishOptions, RotationFinished } from './rotation-finish.js';

/** What a sweep is built from. */
export interface RotationSweepDeps {
  readonly due: DueRotationSource;
  /** The finish of one device's rotation, refusing one not due by `options.dueBy`. */
  readonly finish: (deviceId: string, options: FinishOptions) => Promise<RotationFinished>;
  /** Finishes in flight at once. @default ROTATION_SWEEP_CONCURRENCY */
  readonly concurrency?: number;
  /** Due rotations read per index page. @default 100 */
  readonly pageSize?: number;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  readonly onFinished?: (deviceId: string, finished: RotationFinished) => void;
  readonly onSkipped?: (deviceId: string, reason: string) => void;
  readonly onFailed?: (deviceId: string, error: unknown) => void;
}

/** What one run did. */
export interface RotationSweepSummary {
  /** Due entries the index listed. */
  readonly due: number;
  readonly finished: number;
  /** Entries whose rotation was no longer finishable (already finished, revoked, deleted, begun again). */
  readonly skipped: number;
  /** Rotations that could not be finished this run; the next run tries them again. */
  readonly failed: number;
}

/** A sweep: each call finishes what is due at its start. */
export function createRotationSweep(deps: RotationSweepDeps): () => Promise<RotationSweepSummary> {
  const concurrency = deps.concurrency ?? ROTATION_SWEEP_CONCURRENCY;
  const pageSize = deps.pageSize ?? 100;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  const clock = deps.clock ?? (() => new Date());
  return async () => {
    const now = clock();
    const counts = { due: 0, finished: 0, skipped: 0, failed: 0 };
    const finishOne = async (deviceId: string): Promise<void> => {
      try {
        const finished = await deps.finish(deviceId, { dueBy: now });
        counts.finished += 1;
        deps.onFinished?.(deviceId, finished);
      } catch (error) {
        if (isDomainError(error) && (error.code === 'CONFLICT' || error.code === 'NOT_FOUND')) {
          counts.skipped += 1;
          deps.onSkipped?.(deviceId, error.message);
        } else {
          counts.failed += 1;
          deps.onFailed?.(deviceId, error);
        }
      }
    };
    for await (const ids of deps.due.pages(now, pageSize)) {
      counts.due += ids.length;
      // finishOne settles every device itself, counting each outcome.
      await mapSettled(ids, concurrency, finishOne);
    }
    return counts;
  };
}
