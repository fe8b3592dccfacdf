/**
 * Wraps each handler: rejects malformed requests and oversized metadata with INVALID_ARGUMENT,
 * turns cancellation and deadlines into a signal the work checks between steps, maps
 * errors through the one error mapper and logs one line per call.
 */
import { status as Status, type Metadata, type ServerUnaryCall, type sendUnaryData, type StatusObject } from '@grpc/grpc-js';
import { statusName, toGrpcStatus, REFUSAL_CODES } from './error-mapper.js';
import { callerIdOf } from './auth-interceptor.js';
import type { Logger } from '../ports/logger.js';
import { MalformedRequest } from './proto.js';

/** Metadata larger than this (keys plus values, in bytes) is refused with INVALID_ARGUMENT. */
export const MAX_METADATA_BYTES = 8 * 1024;

/** Thrown (and logged as CANCELLED / DEADLINE_EXCEEDED) when the caller went away mid-call. */
export class CallCancelledError extends Error {
  constructor() {
    super('call cancelled');
    this.name = 'CallCancelledError';
  }
}

/** Shared by every handler of one server. */
export interface CallContext {
  readonly log: Logger;
  /** Number of unary calls running now (graceful shutdown reports it). */
  inFlight: number;
}

/** Why a request is refused before any work, or undefined when it may proceed. */
export function rejectRequest(request: unknown, metadata: Metadata): Pick<StatusObject, 'code' | 'details'> | undefined {
  if (request instanceof MalformedRequest) {
    return { code: REFUSAL_CODES.malformedRequest, details: request.malformed ? `malformed request: ${request.reason}` : request.reason };
  }
  const size = metadataBytes(metadata);
  if (size > MAX_METADATA_BYTES) {
    return { code: REFUSAL_CODES.malformedRequest, details: `request metadata is ${size} bytes; at most ${MAX_METADATA_BYTES} allowed` };
  }
  return undefined;
}

/** Cancellation as the work sees it: checked between steps (cheaper than an AbortController per call). */
export interface CallSignal {
  readonly aborted: boolean;
  /** Throws CallCancelledError once the caller cancelled or the deadline passed. */
  throwIfAborted(): void;
  /** The authenticated caller's id (what the call log names), e.g. the actor of an alarm action. */
  readonly caller: string;
}

/** A unary handler around `work`, which receives the decoded request and the call's cancellation signal. */
export function guardUnary<Req, Res>(
  context: CallContext,
  method: string,
  work: (request: Req, signal: CallSignal, caller: string) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const started = performance.now();
    const caller = callerIdOf(call.metadata);
    let deviceId = deviceIdOf(call.request);
    const log = (code: number, extra?: Record<string, unknown>): void =>
      context.log[code === Status.INTERNAL ? 'error' : 'info']('rpc', {
        method,
        code: statusName(code),
        caller,
        ...(deviceId && { deviceId }),
        durationMs: round(performance.now() - started),
        ...extra,
      });

    const refused = rejectRequest(call.request, call.metadata);
    if (refused) {
      callback(refused);
      log(refused.code, { details: refused.details });
      return;
    }
    // Settles once: with the result, an error, or as soon as the call is cancelled, so a
    // cancelled call stops waiting for its work (and the work sees `aborted` at its next step).
    let settled = false;
    const signal = {
      aborted: false,
      caller,
      throwIfAborted(): void {
        if (this.aborted) throw new CallCancelledError();
      },
    };
    const onCancelled = (): void => {
      signal.aborted = true;
      if (settled) return;
      settled = true;
      context.inFlight -= 1;
      log(cancelCode(call));
    };
    call.once('cancelled', onCancelled);
    context.inFlight += 1;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      context.inFlight -= 1;
      call.removeListener('cancelled', onCancelled);
      return true;
    };
    let pending: Promise<Res>;
    try {
      pending = work(call.request, signal, caller);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (response) => {
        if (!settle()) return;
        deviceId ??= deviceIdOf(response);
        callback(null, response);
        log(Status.OK);
      },
      (error: unknown) => {
        if (!settle()) return;
        const status = toGrpcStatus(error);
        callback(status);
        log(status.code, status.code === Status.INTERNAL ? { error: describe(error) } : { details: status.details });
      },
    );
  };
}

/** DEADLINE_EXCEEDED when the call's deadline has (all but) passed, else CANCELLED. */
export function cancelCode(call: { getDeadline(): Date | number }): number {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  // grpc-js' deadline timer can fire a few ms before Date.now() reaches the deadline.
  return Number.isFinite(ms) && ms <= Date.now() + 20 ? REFUSAL_CODES.deadlineExceeded : REFUSAL_CODES.cancelled;
}

/**
 * The device a request or response is about (`id`, or `device.id`), cut to the id length the
 * domain allows so a hostile id cannot bloat the log line.
 */
export function deviceIdOf(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const record = message as { id?: unknown; device?: { id?: unknown } | null };
  const id = typeof record.id === 'string' && record.id ? record.id : record.device?.id;
  return typeof id === 'string' && id ? id.slice(0, 128) : undefined;
}

function metadataBytes(metadata: Metadata): number {
  let size = 0;
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    for (const value of values) size += key.length + value.length;
  }
  return size;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
