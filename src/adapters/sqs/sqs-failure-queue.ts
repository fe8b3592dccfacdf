/**
 * The ingest failure queue (IngestFailureQueueUrl) as the replay's FailureQueue: every message
 * is received once and hidden while the replay runs; a message is deleted only when the replay
 * says its range is done, so one it could not finish shows up again after the visibility timeout.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { FailureMessage, FailureQueue } from '../../devices/ingest-replay.js';
import { failedRangeOf } from '../../devices/kinesis-failure-record.js';

/** The SQS calls the queue makes. */
export type SqsFailureSender = Pick<SQSClient, 'send'>;

/** An SQS on-failure destination. */
export class SqsFailureQueue implements FailureQueue {
  private readonly receipts = new Map<string, string>();

  /** @param visibilitySeconds how long received messages stay hidden from another replay (the SQS maximum is 12 h). */
  constructor(
    private readonly sqs: SqsFailureSender,
    private readonly queueUrl: string,
    private readonly visibilitySeconds = 3600,
  ) {}

  async receive(): Promise<FailureMessage[]> {
    const messages: FailureMessage[] = [];
    for (;;) {
      const { Messages } = await this.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: this.visibilitySeconds, WaitTimeSeconds: 1 }),
      );
      if (!Messages || Messages.length === 0) return messages;
      for (const message of Messages) {
        const id = message.MessageId!;
        this.receipts.set(id, message.ReceiptHandle!);
        const range = failedRangeOf(message.Body ?? '');
        messages.push({ id, ...(range && { range }) });
      }
    }
  }

  async delete(message: FailureMessage): Promise<void> {
    const receipt = this.receipts.get(message.id);
    if (!receipt) throw new Error(`message ${message.id} was not received by this replay`);
    await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receipt }));
    this.receipts.delete(message.id);
  }
}
