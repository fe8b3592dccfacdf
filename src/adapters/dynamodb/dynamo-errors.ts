/** Classifies DynamoDB SDK errors for the adapters, so callers only ever see typed domain errors. */
import { UnavailableError } from '../../domain/errors.js';

const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'LimitExceededException',
]);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether the error is DynamoDB's answer to a failed ConditionExpression. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

/** UnavailableError for throttling, server and network failures (the caller may retry); the error itself otherwise. */
export function mapDynamoError(error: unknown, action: string): unknown {
  const { name, code } = (error ?? {}) as { name?: string; code?: string };
  if ((name && RETRYABLE.has(name)) || (code && NETWORK_CODES.has(code))) {
    return new UnavailableError(`DynamoDB is unavailable (${action}): ${name ?? code}`, { cause: error });
  }
  return error;
}
