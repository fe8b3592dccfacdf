/**
 * Wraps each handler: rejects malformed requests and oversized metadata with INVALID_ARGUMENT,
 * turns cancellation and deadlines into an AbortSignal the work checks between steps, maps
 * errors through the one error mapper and logs one line per call.
 */
import { status as Status, type Metadata, type ServerUnaryCall, type sendUnaryData, type StatusObject } from '@grpc/grpc-js';
import { statusName, toGrpcStatus } from './error-mapper.js';
import type { LogSink } from './call-log.js';
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
  readonly log: LogSink;
  /** Number of unary calls running now (graceful shutdown reports it). */
  inFlight: number;
}

/** Why a request is refused before any work, or undefined when it may proceed. */
export function rejectRequest(request: unknown, metadata: Metadata): Pick<StatusObject, 'code' | 'details'> | undefined {
  if (request instanceof MalformedRequest) {
    return { code: Status.INVALID_ARGUMENT, details: `malformed request: ${request.reason}` };
  }
  const size = metadataBytes(metadata);
  if (size > MAX_METADATA_BYTES) {
    return { code: Status.INVALID_ARGUMENT, details: `request metadata is ${size} bytes; at most ${MAX_METADATA_BYTES} allowed` };
  }
  return undefined;
}

/** A unary handler around `work`, which receives the decoded request and a signal aborted on cancellation. */
export function guardUnary<Req, Res>(
  context: CallContext,
  method: string,
  work: (request: Req, signal: AbortSignal) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const started = performance.now();
    const log = (code: number, extra?: Record<string, unknown>): void =>
      context.log({ level: code === Status.INTERNAL ? 'error' : 'info', msg: 'rpc', method, code: statusName(code), durationMs: round(performance.now() - started), ...extra });

    const refused = rejectRequest(call.request, call.metadata);
    if (refused) {
      callback(refused);
      log(refused.code, { details: refused.details });
      return;
    }
    const controller = new AbortController();
    const onCancelled = (): void => controller.abort(new CallCancelledError());
    call.once('cancelled', onCancelled);
    context.inFlight += 1;
    abortable(work(call.request, controller.signal), controller.signal).then(
      (response) => {
        if (call.cancelled) return log(cancelCode(call));
        callback(null, response);
        log(Status.OK);
      },
      (error: unknown) => {
        if (error instanceof CallCancelledError || call.cancelled) return log(cancelCode(call));
        const status = toGrpcStatus(error);
        callback(status);
        log(status.code, status.code === Status.INTERNAL ? { error: describe(error) } : { details: status.details });
      },
    ).finally(() => {
      context.inFlight -= 1;
      call.removeListener('cancelled', onCancelled);
    });
  };
}

/** Rejects with the signal's reason as soon as it aborts, so a cancelled call stops waiting. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function cancelCode(call: { getDeadline(): Date | number }): number {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) && ms <= Date.now() ? Status.DEADLINE_EXCEEDED : Status.CANCELLED;
}

function metadataBytes(metadata: Metadata): number {
  let size = 0;
  for (const [key, values] of Object.entries(metadata.toHttp2Headers())) {
    for (const value of Array.isArray(values) ? values : [values]) size += key.length + String(value).length;
  }
  return size;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
