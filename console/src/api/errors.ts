import type { CombinedError } from 'urql';

/** Plain words for the error types AppSync (and the local server) put in `errors[].errorType`. */
const PLAIN: Record<string, string> = {
  Unauthorized: 'You are not allowed to do that. Your group may only read.',
  UnauthorizedException: 'Your session is not valid any more. Sign in again.',
  NotFound: 'It does not exist (any more).',
  Conflict: 'Someone else changed it since you loaded it.',
  ValidationError: 'The request was not valid',
  Unavailable: 'The platform is busy or unreachable. Try again in a moment.',
  InternalFailure: 'Something went wrong on the server. Try again; if it persists, check the server logs.',
};

/** The AppSync errorType of a failed operation, if the server gave one. */
export function errorTypeOf(error: CombinedError): string | undefined {
  for (const e of error.graphQLErrors) {
    const original = e.originalError as { errorType?: unknown } | undefined;
    const type = original?.errorType ?? e.extensions?.errorType;
    if (typeof type === 'string') return type;
  }
  return undefined;
}

/** Whether the server refused the session itself (expired or invalid token). */
export function isSessionRejected(error: CombinedError): boolean {
  return error.response?.status === 401 || errorTypeOf(error) === 'UnauthorizedException';
}

/** A sentence a person can act on, for any failed operation. */
export function plainMessage(error: CombinedError): string {
  if (error.networkError && error.graphQLErrors.length === 0) {
    return 'The platform cannot be reached. Check your connection; the console retries when you act again.';
  }
  const type = errorTypeOf(error);
  const detail = error.graphQLErrors[0]?.message;
  if (type === 'ValidationError' && detail) return `${PLAIN.ValidationError}: ${detail}`;
  if (type && PLAIN[type]) return PLAIN[type]!;
  return detail ?? error.message;
}
