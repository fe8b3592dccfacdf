/**
 * IoT Core's per-connection publish limits: a payload over the size limit disconnects the client
 * with CLIENT_ERROR (nothing of it reaches the rules), more than the publish rate THROTTLED.
 */

/** A bucket of one second's worth of publishes. */
export interface TokenBucket {
  tokens: number;
  refilledAt: number;
}

/** Why a publish broke a limit, with the line the broker logs. */
export interface LimitBreach {
  readonly reason: 'CLIENT_ERROR' | 'THROTTLED';
  readonly message: string;
  readonly detail: string;
}

/** Options of {@link createPublishLimits}. */
export interface PublishLimitOptions {
  readonly maxPublishesPerSecond: number;
  readonly maxPayloadBytes: number;
  readonly clock: () => number;
}

/** The limits a broker applies to every client publish. */
export interface PublishLimits {
  /** A full bucket for a new connection. */
  bucket(): TokenBucket;
  /** Undefined when the publish is within the limits (and takes its token), else the breach. */
  check(bucket: TokenBucket, topic: string, payloadBytes: number): LimitBreach | undefined;
}

/** Limits from options. */
export function createPublishLimits(options: PublishLimitOptions): PublishLimits {
  const { maxPublishesPerSecond: rate, maxPayloadBytes, clock } = options;
  const takeToken = (bucket: TokenBucket): boolean => {
    const now = clock();
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.refilledAt) / 1000) * rate);
    bucket.refilledAt = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
  return {
    bucket: () => ({ tokens: rate, refilledAt: clock() }),
    check(bucket, topic, payloadBytes) {
      if (payloadBytes > maxPayloadBytes) {
        return { reason: 'CLIENT_ERROR', message: 'Payload exceeds the size limit', detail: `published ${payloadBytes} bytes to ${topic}; the limit is ${maxPayloadBytes}` };
      }
      if (!takeToken(bucket)) return { reason: 'THROTTLED', message: 'Throttled', detail: `exceeded ${rate} publishes/s` };
      return undefined;
    },
  };
}
