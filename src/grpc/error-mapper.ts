/**
 * The one place where errors become gRPC statuses. Domain errors carry their own (safe) message;
 * anything else is INTERNAL with a fixed message, so no internals reach the caller.
 */
import { status as Status, type StatusObject } from '@grpc/grpc-js';
import { isDomainError } from '../domain/errors.js';

/** An RPC this server was started without the ports for (UNIMPLEMENTED). */
export class NotServedError extends Error {
  override readonly name = 'NotServedError';
}

/** A status to send for `error`. */
export function toGrpcStatus(error: unknown): Pick<StatusObject, 'code' | 'details'> {
  if (error instanceof NotServedError) return { code: Status.UNIMPLEMENTED, details: error.message };
  if (isDomainError(error)) {
    switch (error.code) {
      case 'VALIDATION':
        return { code: Status.INVALID_ARGUMENT, details: error.message };
      case 'NOT_FOUND':
        return { code: Status.NOT_FOUND, details: error.message };
      case 'ALREADY_EXISTS':
        return { code: Status.ALREADY_EXISTS, details: error.message };
      case 'CONFLICT':
        return { code: Status.ABORTED, details: error.message };
      case 'UNAUTHORIZED':
        return { code: Status.PERMISSION_DENIED, details: error.message };
      case 'UNAVAILABLE':
        return { code: Status.UNAVAILABLE, details: error.message };
    }
  }
  return { code: Status.INTERNAL, details: 'internal error' };
}

/**
 * Every reason the service refuses or ends a call outside the domain, with its one status code:
 * interceptors, guards and streams take the code from here, so each reason maps to one status.
 */
export const REFUSAL_CODES = {
  /** Bytes that fail the wire check or the decode, or metadata over the limit. */
  malformedRequest: Status.INVALID_ARGUMENT,
  /** No token, or one that does not verify. */
  unauthenticated: Status.UNAUTHENTICATED,
  /** A verified caller without the right the method needs. */
  permissionDenied: Status.PERMISSION_DENIED,
  /** Tokens cannot be verified right now (the key set is unreachable); retrying can help. */
  tokensUnavailable: Status.UNAVAILABLE,
  /** A request that did not arrive within the receive timeout. */
  receiveTimeout: Status.CANCELLED,
  /** The server-wide receive budget is full; retry with backoff. */
  overloaded: Status.RESOURCE_EXHAUSTED,
  /** A stream consumer fell too far behind. */
  consumerTooSlow: Status.RESOURCE_EXHAUSTED,
  /** The change subscription is down: a watcher may have missed changes. */
  changesUnavailable: Status.UNAVAILABLE,
  /** The server is shutting down. */
  shuttingDown: Status.UNAVAILABLE,
  /** The caller's deadline passed. */
  deadlineExceeded: Status.DEADLINE_EXCEEDED,
  /** The caller went away. */
  cancelled: Status.CANCELLED,
} as const satisfies Record<string, Status>;

/** The name of a status code, for logs ("NOT_FOUND"). */
export function statusName(code: number): string {
  return Status[code] ?? String(code);
}
