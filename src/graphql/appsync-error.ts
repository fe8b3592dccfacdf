/** The errorType values this API returns, as AppSync clients see them in `errors[].errorType`. */
export type AppSyncErrorType =
  | 'ValidationError'
  | 'NotFound'
  | 'Conflict'
  | 'Unauthorized'
  | 'Unavailable'
  | 'InternalFailure';

/**
 * An error a resolver raises on purpose. AppSync's direct Lambda integration reports a thrown
 * error's `name` as `errorType` and its `message` as `message` (the Node runtime drops every
 * other property), so the type travels in `name`.
 */
export class AppSyncResolverError extends Error {
  constructor(
    readonly errorType: AppSyncErrorType,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = errorType;
  }
}
