/** A message the platform could not process, kept with everything needed to replay or diagnose it. */
export interface DeadLetter {
  /** Which pipeline refused it. */
  readonly source: 'ingest' | 'presence' | 'commands' | 'twin';
  /** Stable machine-readable reason (RejectReason for ingest). */
  readonly reason: string;
  /** Human-readable detail. */
  readonly detail: string;
  /** Thing name from the topic, when known. */
  readonly thingName?: string;
  readonly clientId?: string;
  /** The original payload, base64 (truncated to `payloadBytes` limits by the queue adapter if needed). */
  readonly payload: string;
  /** Original payload size in bytes. */
  readonly payloadBytes: number;
  /** True when `payload` holds only the first part of the original. */
  readonly payloadTruncated?: boolean;
  /** Epoch ms when the rules engine received the message. */
  readonly receivedAt?: number;
  /** Kinesis sequence number of the record, for ingest. */
  readonly sequenceNumber?: string;
  /**
   * For one refused reading of a version-2 message: its index in `points` (the payload is still
   * the whole message). Absent when the whole message was refused.
   */
  readonly pointIndex?: number;
  /** ISO time the letter was written. */
  readonly deadLetteredAt: string;
}

/** Where rejected messages go (SQS in the cloud, a JSON-lines file locally). Throws UnavailableError on outage. */
export interface DeadLetterQueue {
  send(letters: readonly DeadLetter[]): Promise<void>;
}
