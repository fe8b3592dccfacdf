/**
 * Server-wide bound on request bytes being received. grpc-js buffers each request message whole
 * (up to MAX_RECEIVE_MESSAGE_BYTES) before any handler runs, so without this the worst case is
 * streams-per-connection x connections x 16 MiB. But grpc-js keeps a call's HTTP/2 stream paused
 * until the handler asks to read, which it does only after the call's metadata passes the server
 * interceptors: holding the metadata back here means no request byte is read into JS. HTTP/2
 * flow control then keeps what a waiting call can send in the transport's stream window (64 KiB).
 * A call reserves `maxMessageBytes` when its metadata arrives and gives it back at half-close
 * (unary and server-streaming clients half-close right after their one message), on its status
 * or when cancelled; calls beyond the budget wait in FIFO order (their deadline still applies),
 * and beyond `maxWaiting` they get RESOURCE_EXHAUSTED at once. A call that holds a reservation
 * longer than `receiveTimeoutMs` without finishing its request (a stalled or hostile sender) is
 * ended with CANCELLED, so a few such streams cannot keep the budget from everyone else.
 */
import { Metadata, ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, type ServerInterceptor } from '@grpc/grpc-js';
import { REFUSAL_CODES } from './error-mapper.js';

/** Options of {@link receiveBudgetInterceptor}. */
export interface ReceiveBudgetOptions {
  /** Bytes all calls may be receiving at once. */
  readonly budgetBytes: number;
  /** What one call may need (the server's max receive message length). */
  readonly maxMessageBytes: number;
  /** Calls allowed to wait for budget. @default 4_096 */
  readonly maxWaiting?: number;
  /** Longest a call may hold a reservation before its request is complete. @default 10_000 */
  readonly receiveTimeoutMs?: number;
}

/** Live figures of the budget (tests and logs). */
export interface ReceiveBudgetState {
  readonly reservedBytes: number;
  readonly waiting: number;
}

/** A server interceptor enforcing the budget, plus its live state. */
export function receiveBudgetInterceptor(options: ReceiveBudgetOptions): { interceptor: ServerInterceptor; state: ReceiveBudgetState } {
  const { budgetBytes, maxMessageBytes } = options;
  const maxWaiting = options.maxWaiting ?? 4_096;
  // 16 MiB arrive in well under a second inside a VPC; 10 s only ends stalled senders.
  const receiveTimeoutMs = options.receiveTimeoutMs ?? 10_000;
  // A single call always fits, even when the budget is set below one message.
  const slots = Math.max(1, Math.floor(budgetBytes / maxMessageBytes));
  let held = 0;
  const queue = new Set<() => void>();
  const grantNext = (): void => {
    while (held < slots && queue.size > 0) {
      const [next] = queue;
      queue.delete(next!);
      next!(); // reserves its slot
    }
  };

  const interceptor: ServerInterceptor = (_method, call) => {
    let state: 'new' | 'waiting' | 'holding' | 'done' = 'new';
    let grant: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const hold = (): void => {
      held += 1;
      state = 'holding';
      timer = setTimeout(() => {
        release();
        call.sendStatus({ code: REFUSAL_CODES.receiveTimeout, details: `request not received within ${receiveTimeoutMs} ms`, metadata: new Metadata() });
      }, receiveTimeoutMs);
      timer.unref();
    };
    const release = (): void => {
      clearTimeout(timer);
      if (state === 'holding') {
        held -= 1;
        grantNext();
      } else if (state === 'waiting' && grant) {
        queue.delete(grant);
      }
      state = 'done';
    };
    const responder = new ResponderBuilder()
      .withStart((next) => {
        next(
          new ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, pass) => {
              if (held < slots && queue.size === 0) {
                hold();
                return pass(metadata);
              }
              if (queue.size >= maxWaiting) {
                state = 'done';
                call.sendStatus({ code: REFUSAL_CODES.overloaded, details: 'server is receiving too many requests; retry with backoff', metadata: new Metadata() });
                return;
              }
              state = 'waiting';
              grant = () => {
                hold();
                pass(metadata);
              };
              queue.add(grant);
            })
            .withOnReceiveHalfClose((pass) => {
              release();
              pass();
            })
            .withOnCancel(() => release())
            .build(),
        );
      })
      .withSendStatus((status, pass) => {
        release();
        pass(status);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
  return {
    interceptor,
    state: {
      get reservedBytes() {
        return held * maxMessageBytes;
      },
      get waiting() {
        return queue.size;
      },
    },
  };
}
