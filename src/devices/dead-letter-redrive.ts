/**
 * Redrive of ingest dead letters: each letter becomes the Kinesis record the telemetry rule
 * would have produced (same thing name, payload and receive time, the letter's own sequence
 * number) and goes through the ingest handler again: re-validated, stored, or dead-lettered
 * again with its (possibly new) reason, for example once an UNKNOWN_DEVICE has been registered.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { kinesisRecordFor } from './kinesis-event.js';
import type { IngestBatchSummary, IngestHandler } from './ingest-handler.js';
import type { DeadLetter } from '../ports/dead-letter.js';

/** What a redrive did: redriven = stored + deadLetteredAgain (+ failed, retried by the caller). */
export interface RedriveSummary {
  readonly redriven: number;
  readonly stored: number;
  readonly deadLetteredAgain: number;
  /** Letters the handler could not process now (store unavailable): they stay where they were. */
  readonly failed: number;
  /** Letters that carry no device message to redrive (a presence event, a letter without a thing). */
  readonly skipped: number;
}

/** The device message inside a letter, as the telemetry rule outputs it; undefined when there is none. */
export function ruleOutputOf(letter: DeadLetter): { payload: string; thingName: string; clientId: string; receivedAt: number } | undefined {
  if (letter.source !== 'ingest' || letter.payloadTruncated) return undefined;
  // A letter given up on by the event source holds the Kinesis data: the rule output itself.
  try {
    const inner = JSON.parse(Buffer.from(letter.payload, 'base64').toString('utf8')) as Record<string, unknown>;
    if (inner && typeof inner.payload === 'string' && typeof inner.thingName === 'string' && typeof inner.receivedAt === 'number') {
      return { payload: inner.payload, thingName: inner.thingName, clientId: typeof inner.clientId === 'string' ? inner.clientId : inner.thingName, receivedAt: inner.receivedAt };
    }
  } catch {
    // not the rule output: the device's own payload
  }
  if (!letter.thingName) return undefined;
  return { payload: letter.payload, thingName: letter.thingName, clientId: letter.clientId ?? letter.thingName, receivedAt: letter.receivedAt ?? Date.parse(letter.deadLetteredAt) };
}

/**
 * Sends `letters` through `handler` in one batch and sums what it did. Returns, per letter,
 * whether it is settled (stored or dead-lettered again) so the caller removes only those.
 */
export async function redriveLetters(
  letters: readonly DeadLetter[],
  handler: IngestHandler,
  summaries: { last?: IngestBatchSummary },
): Promise<{ summary: RedriveSummary; settled: boolean[] }> {
  const records: Array<KinesisStreamRecord | undefined> = letters.map((letter, index) => {
    const output = ruleOutputOf(letter);
    if (!output) return undefined;
    // The letter's sequence number when it has one, so a redrive's own letters stay de-duplicated.
    const sequenceNumber = letter.sequenceNumber ?? String(49_700_000_000_000_000_000n + BigInt(Date.now()) * 1000n + BigInt(index));
    return kinesisRecordFor(output, { sequenceNumber, arrivalMs: Date.now() });
  });
  const batch = records.filter((r): r is KinesisStreamRecord => r !== undefined);
  const skipped = letters.length - batch.length;
  if (batch.length === 0) return { summary: { redriven: 0, stored: 0, deadLetteredAgain: 0, failed: 0, skipped }, settled: letters.map(() => false) };
  const response = await handler({ Records: batch });
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const summary = summaries.last;
  return {
    summary: {
      redriven: batch.length - failed.size,
      stored: summary?.stored ?? 0,
      deadLetteredAgain: summary?.deadLettered ?? 0,
      failed: failed.size,
      skipped,
    },
    settled: records.map((record) => record !== undefined && !failed.has(record.kinesis.sequenceNumber)),
  };
}
