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

/** The name of a status code, for logs ("NOT_FOUND"). */
export function statusName(code: number): string {
  return Status[code] ?? String(code);
}
