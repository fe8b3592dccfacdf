/**
 * DeadLetterQueue on SQS: SendMessageBatch, at most 10 entries and 256 KiB per call. An
 * oversized original payload is truncated (the letter says so) rather than lost: the reason
 * and the first part of the payload are what an operator needs.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { UnavailableError } from '../../domain/errors.js';
import type { DeadLetter, DeadLetterQueue } from '../../ports/dead-letter.js';

/** Options of {@link SqsDeadLetterQueue}. */
export interface SqsDeadLetterQueueOptions {
  /** Largest message body in bytes. @default 240 KiB (under SQS's 256 KiB with room for attributes) */
  readonly maxMessageBytes?: number;
  /** Attempts for entries SQS reports as failed. @default 3 */
  readonly maxAttempts?: number;
}

const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;

/** Dead letters as JSON SQS messages. */
export class SqsDeadLetterQueue implements DeadLetterQueue {
  private readonly maxMessageBytes: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    options: SqsDeadLetterQueueOptions = {},
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? 240 * 1024;
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  async send(letters: readonly DeadLetter[]): Promise<void> {
    const bodies = letters.map((letter) => fitBody(letter, this.maxMessageBytes));
    // Pack into calls of <= 10 entries and <= 256 KiB in total.
    const batches: string[][] = [];
    let current: string[] = [];
    let bytes = 0;
    for (const body of bodies) {
      const size = Buffer.byteLength(body, 'utf8');
      if (current.length === MAX_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
        batches.push(current);
        current = [];
        bytes = 0;
      }
      current.push(body);
      bytes += size;
    }
    if (current.length > 0) batches.push(current);
    for (const batch of batches) await this.sendBatch(batch);
  }

  private async sendBatch(bodies: string[]): Promise<void> {
    let entries = bodies.map((MessageBody, index) => ({ Id: String(index), MessageBody }));
    for (let attempt = 1; ; attempt += 1) {
      let failedIds: Set<string>;
      try {
        const result = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
        failedIds = new Set((result.Failed ?? []).map((f) => f.Id ?? ''));
      } catch (error) {
        throw new UnavailableError(`dead-letter queue unavailable: ${(error as Error).message}`, { cause: error });
      }
      if (failedIds.size === 0) return;
      if (attempt >= this.maxAttempts) throw new UnavailableError(`dead-letter queue refused ${failedIds.size} messages`);
      entries = entries.filter((e) => failedIds.has(e.Id));
    }
  }
}

/** The letter as JSON within `maxBytes`, truncating the payload when needed. */
export function fitBody(letter: DeadLetter, maxBytes: number): string {
  const body = JSON.stringify(letter);
  if (Buffer.byteLength(body, 'utf8') <= maxBytes) return body;
  const overhead = Buffer.byteLength(JSON.stringify({ ...letter, payload: '', payloadTruncated: true }), 'utf8');
  // Keep whole base64 quanta so the truncated payload still decodes.
  const keep = Math.max(0, Math.floor((maxBytes - overhead) / 4) * 4);
  return JSON.stringify({ ...letter, payload: letter.payload.slice(0, keep), payloadTruncated: true });
}
