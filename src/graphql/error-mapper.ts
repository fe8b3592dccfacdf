import { isDomainError, type DomainError } from '../domain/errors.js';
import { AppSyncResolverError, type AppSyncErrorType } from './appsync-error.js';

const BY_CODE: Record<DomainError['code'], AppSyncErrorType> = {
  VALIDATION: 'ValidationError',
  NOT_FOUND: 'NotFound',
  // A create that collides with an existing id is a conflict from the client's point of view.
  ALREADY_EXISTS: 'Conflict',
  CONFLICT: 'Conflict',
  UNAUTHORIZED: 'Unauthorized',
  UNAVAILABLE: 'Unavailable',
};

/** Message sent for anything unexpected: internals never reach the client. */
export const INTERNAL_FAILURE_MESSAGE = 'Internal failure; the request was logged';

/**
 * The one AppSync error mapper: a domain error keeps its message and gets its AppSync type;
 * anything else becomes InternalFailure and is reported through `onUnexpected` only.
 */
export function toAppSyncError(error: unknown, onUnexpected?: (error: unknown) => void): AppSyncResolverError {
  if (error instanceof AppSyncResolverError) return error;
  if (isDomainError(error)) return new AppSyncResolverError(BY_CODE[error.code], error.message, { cause: error });
  onUnexpected?.(error);
  return new AppSyncResolverError('InternalFailure', INTERNAL_FAILURE_MESSAGE);
}
