/**
 * Authentication and authorization of every call except grpc.health.v1: a server interceptor
 * reads `authorization: Bearer <JWT>` from the call's metadata, verifies it, checks the right the
 * RPC needs, and only then lets the call go on. Refused calls end here with UNAUTHENTICATED (no,
 * malformed, forged, expired or foreign token) or PERMISSION_DENIED (valid token without the
 * right) before any request byte is read (grpc-js keeps the stream paused until the metadata
 * passes the interceptors), and log one line naming the RPC and the caller, never the token.
 * An accepted call's metadata reaches the handler without the token and with the caller's id
 * under CALLER_METADATA_KEY, which the interceptor always overwrites, so a client cannot forge it.
 */
import { Metadata, ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, status as Status, type ServerInterceptor } from '@grpc/grpc-js';
import { TokenRejectedError, TokenVerificationUnavailableError, type AccessTokenClaims, type AccessTokenVerifier } from './access-token-verifier.js';
import type { CachedTokenVerifier } from './cached-token-verifier.js';
import type { Logger } from '../ports/logger.js';
import { statusName, REFUSAL_CODES } from './error-mapper.js';
import { DEVICE_SERVICE_NAME } from './proto.js';
import { callerOf, RPC_RIGHTS, type GrpcCaller } from './rpc-access.js';

/** Metadata key under which an accepted call carries its caller's id to the handler. */
export const CALLER_METADATA_KEY = 'x-iot-caller';
/** What the call log names when no caller could be authenticated. */
export const ANONYMOUS = 'anonymous';

const OPEN_SERVICES = new Set(['grpc.health.v1.Health']);
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;

/** The caller id an accepted call carries (set by {@link authInterceptor}). */
export function callerIdOf(metadata: Metadata): string {
  const value = metadata.get(CALLER_METADATA_KEY)[0];
  return typeof value === 'string' ? value : ANONYMOUS;
}

/** Options of {@link authInterceptor}. */
export interface AuthInterceptorOptions {
  /** With `peek` (a memo of accepted tokens), a known token is accepted without a promise round trip. */
  readonly verify: AccessTokenVerifier & Partial<Pick<CachedTokenVerifier, 'peek'>>;
  readonly log: Logger;
}

// One caller per verified claims object: the memo hands out the same claims for the same token.
const callers = new WeakMap<AccessTokenClaims, GrpcCaller>();
function callerFor(claims: AccessTokenClaims): GrpcCaller {
  let caller = callers.get(claims);
  if (!caller) callers.set(claims, (caller = callerOf(claims)));
  return caller;
}

/** The interceptor; put it first so refused calls never take a share of the receive budget. */
export function authInterceptor(options: AuthInterceptorOptions): ServerInterceptor {
  return (methodDescriptor, call) => {
    const [service = '', rpc = ''] = methodDescriptor.path.slice(1).split('/');
    if (OPEN_SERVICES.has(service)) return new ServerInterceptingCall(call);
    const method = service === DEVICE_SERVICE_NAME ? rpc : methodDescriptor.path;
    // Reflection (when enabled) needs a valid token but no device right.
    const right = service === DEVICE_SERVICE_NAME ? (RPC_RIGHTS as Record<string, string | undefined>)[rpc] : undefined;
    let cancelled = false;
    const started = performance.now();
    const refuse = (code: Status, details: string, caller: string): void => {
      if (cancelled) return;
      call.sendStatus({ code, details, metadata: new Metadata() });
      options.log.warn('rpc', { method, code: statusName(code), caller, durationMs: Math.round((performance.now() - started) * 100) / 100, details });
    };
    const responder = new ResponderBuilder()
      .withStart((next) => {
        next(
          new ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, pass) => {
              const values = metadata.get('authorization');
              metadata.remove('authorization');
              metadata.remove(CALLER_METADATA_KEY);
              const match = values.length === 1 && typeof values[0] === 'string' ? BEARER.exec(values[0]) : null;
              if (!match) return refuse(REFUSAL_CODES.unauthenticated, 'authorization: Bearer <access token> required', ANONYMOUS);
              const accept = (claims: AccessTokenClaims): void => {
                const caller = callerFor(claims);
                if (service === DEVICE_SERVICE_NAME && (!right || !caller.rights.has(right as never))) {
                  return refuse(REFUSAL_CODES.permissionDenied, `${rpc} requires the ${right ?? 'unknown'} right (scope devices/${right ?? '?'} or a group granting it)`, caller.id);
                }
                if (cancelled) return;
                metadata.set(CALLER_METADATA_KEY, caller.id);
                pass(metadata);
              };
              const known = options.verify.peek?.(match[1]!);
              if (known) return accept(known);
              options.verify(match[1]!).then(
                accept,
                (error: unknown) => {
                  if (error instanceof TokenVerificationUnavailableError) return refuse(REFUSAL_CODES.tokensUnavailable, 'cannot verify tokens right now; retry', ANONYMOUS);
                  refuse(REFUSAL_CODES.unauthenticated, error instanceof TokenRejectedError ? error.message : 'token invalid', ANONYMOUS);
                },
              );
            })
            .withOnCancel(() => {
              cancelled = true;
            })
            .build(),
        );
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}
