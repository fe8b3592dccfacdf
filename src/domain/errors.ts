/**
 * Typed errors of the domain core. Each transport maps them in exactly one place
 * (AppSync error type, gRPC status code, dead-letter reason).
 */
export type DomainErrorCode =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'CONFLICT'
  | 'UNAUTHORIZED'
  | 'UNAVAILABLE';

/** Base class of every error the domain core raises on purpose. */
export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that breaks a documented rule; `field` names the offending input. */
export class ValidationError extends DomainError {
  readonly code = 'VALIDATION' as const;
  constructor(
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The addressed device (or other entity) does not exist. */
export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND' as const;
}

/** A create would overwrite an existing entity. */
export class AlreadyExistsError extends DomainError {
  readonly code = 'ALREADY_EXISTS' as const;
}

/** Optimistic concurrency failed: the entity changed since the caller read it. */
export class ConflictError extends DomainError {
  readonly code = 'CONFLICT' as const;
  constructor(
    message: string,
    readonly currentVersion?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The caller is not allowed to do this. */
export class UnauthorizedError extends DomainError {
  readonly code = 'UNAUTHORIZED' as const;
}

/** A dependency (DynamoDB, the broker, ...) cannot be reached; the call may be retried. */
export class UnavailableError extends DomainError {
  readonly code = 'UNAVAILABLE' as const;
}

/** Whether a value is one of the domain's typed errors. */
export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
