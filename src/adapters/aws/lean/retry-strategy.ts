/**
 * When and after how long a lean AWS client retries, as the SDK's standard mode does: up to
 * `maxAttempts` (3) for throttling, transient (timeouts, 500/502/503/504) and network errors,
 * exponential backoff with full jitter (base 100 ms, 500 ms when throttled, at most 20 s), and a
 * per-process retry quota (500 tokens, 5 per retry, 10 per timeout retry, 1 back per success)
 * so a broken dependency is not hit with every request's retries at once.
 */

const THROTTLING = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TRANSIENT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Why an error may be retried, or undefined when it may not. */
export type RetryKind = 'throttling' | 'transient';

/** Classifies a failed attempt. */
export function retryKind(error: unknown): RetryKind | undefined {
  const { name, code, $metadata } = (error ?? {}) as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = $metadata?.httpStatusCode;
  if ((name && THROTTLING.has(name)) || status === 429) return 'throttling';
  if ((name && TRANSIENT.has(name)) || (code && NETWORK.has(code)) || (status !== undefined && TRANSIENT_STATUS.has(status))) return 'transient';
  return undefined;
}

/** Milliseconds to wait before attempt `attempt + 1` (attempt counts from 1). */
export function backoffMs(attempt: number, kind: RetryKind, random: () => number = Math.random): number {
  const base = kind === 'throttling' ? 500 : 100;
  return Math.floor(Math.min(20_000, random() * 2 ** (attempt - 1) * base));
}

/** The retry token bucket shared by every lean client of the process. */
export class RetryQuota {
  private tokens: number;

  constructor(private readonly capacity = 500) {
    this.tokens = capacity;
  }

  /** Takes the cost of one retry; false when the quota is spent (then the error is thrown). */
  acquire(error: unknown): number | undefined {
    const cost = (error as { name?: string } | null)?.name === 'TimeoutError' ? 10 : 5;
    if (this.tokens < cost) return undefined;
    this.tokens -= cost;
    return cost;
  }

  /** Gives back what a successful retry took, or one token for a success at the first attempt. */
  release(cost: number | undefined): void {
    this.tokens = Math.min(this.capacity, this.tokens + (cost ?? 1));
  }

  /** Tokens left (for tests). */
  get available(): number {
    return this.tokens;
  }
}

/** The process's quota. */
export const processRetryQuota = new RetryQuota();
