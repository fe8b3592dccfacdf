import type { IncomingMessage } from 'node:http';
import { validateWithinLimits } from './request-limits.js';
import { parse, subscribe, getOperationAST, GraphQLError, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { WebSocket } from 'ws';
import type { Caller } from './auth-rules.js';
import type { LocalRequestContext } from './local-appsync-schema.js';

/** The WebSocket subprotocol of AppSync's real-time endpoint (the old Apollo name). */
export const APPSYNC_REALTIME_PROTOCOL = 'graphql-ws';
/** What AppSync announces in connection_ack; clients close when no `ka` arrives within it. */
const CONNECTION_TIMEOUT_MS = 300_000;
const KEEP_ALIVE_MS = 60_000;

/** What the AppSync protocol handler needs from the server. */
export interface AppSyncRealtimeDeps {
  readonly schema: GraphQLSchema;
  /** Verifies the Authorization value of the connection or of one subscription. */
  authenticate(authorization: string): Promise<Caller>;
  context(caller: Caller, sourceIp: string): LocalRequestContext;
  formatResult(result: ExecutionResult): Record<string, unknown>;
  readonly keepAliveMs?: number;
}

type ErrorPayload = { errors: { errorType: string; message: string }[] };

function authorizationFrom(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const authorization = record.Authorization ?? record.authorization;
  return typeof authorization === 'string' && authorization.length > 0 ? authorization : undefined;
}

/**
 * The auth header object of the handshake. AppSync takes it base64-encoded in the `header`
 * query parameter, or base64url-encoded as a `header-<...>` WebSocket subprotocol beside
 * `graphql-ws` (what Amplify sends now, keeping the token out of URLs and access logs).
 */
export function connectionHeader(request: IncomingMessage): unknown {
  const url = new URL(request.url ?? '/', 'http://local');
  const protocols = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const inProtocol = protocols.find((p) => p.startsWith('header-'))?.slice('header-'.length);
  const encoded = inProtocol ?? url.searchParams.get('header');
  if (!encoded) return undefined;
  try {
    // Node's base64 decoder reads both alphabets, padded or not.
    return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * AppSync's real-time protocol on one socket, so Amplify and other AppSync clients work
 * unchanged: connection_init/ack, `ka` keep-alives, start/start_ack/data/error, stop/complete,
 * with the user pool token in the connection header and in each start message.
 */
export function serveAppSyncRealtime(socket: WebSocket, request: IncomingMessage, deps: AppSyncRealtimeDeps): void {
  const send = (message: Record<string, unknown>) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };
  const operations = new Map<string, AsyncIterator<ExecutionResult>>();
  const sourceIp = request.socket.remoteAddress ?? '127.0.0.1';
  let keepAlive: NodeJS.Timeout | undefined;
  let connected: Promise<Caller | undefined> | undefined;

  const refuse = (payload: ErrorPayload) => {
    send({ type: 'connection_error', payload });
    socket.close(1008, 'Unauthorized');
  };

  const stopAll = () => {
    clearInterval(keepAlive);
    for (const iterator of operations.values()) void iterator.return?.();
    operations.clear();
  };
  socket.on('close', stopAll);

  async function start(id: string, payload: unknown): Promise<void> {
    const fail = (errorType: string, message: string) => send({ id, type: 'error', payload: { errors: [{ errorType, message }] } });
    const caller = await connected;
    if (!caller) return;
    const { data, extensions } = (payload ?? {}) as { data?: unknown; extensions?: { authorization?: unknown } };
    const authorization = authorizationFrom(extensions?.authorization);
    if (!authorization) return fail('UnauthorizedException', 'Valid authorization header not provided.');
    let subscriber: Caller;
    try {
      subscriber = await deps.authenticate(authorization);
    } catch (error) {
      return fail('UnauthorizedException', (error as Error).message);
    }
    let request: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      request = JSON.parse(String(data)) as typeof request;
    } catch {
      return fail('BadRequestException', 'payload.data must be a JSON string of {query, variables}');
    }
    let document;
    try {
      document = parse(String(request.query ?? ''));
    } catch (error) {
      return fail('ValidationError', (error as GraphQLError).message);
    }
    const errors = validateWithinLimits(deps.schema, document);
    if (errors.length > 0) return send({ id, type: 'error', payload: deps.formatResult({ errors }) });
    const operationName = typeof request.operationName === 'string' ? request.operationName : undefined;
    if (getOperationAST(document, operationName)?.operation !== 'subscription') {
      return fail('ValidationError', 'Only subscriptions are served on the real-time endpoint');
    }
    const result = await subscribe({
      schema: deps.schema,
      document,
      variableValues: (request.variables ?? undefined) as Record<string, unknown> | undefined,
      operationName,
      contextValue: deps.context(subscriber, sourceIp),
    });
    if (!(Symbol.asyncIterator in result)) return send({ id, type: 'error', payload: deps.formatResult(result) });
    const iterator = result[Symbol.asyncIterator]();
    operations.set(id, iterator);
    send({ id, type: 'start_ack' });
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      send({ id, type: 'data', payload: deps.formatResult(next.value) });
    }
  }

  socket.on('message', (raw) => {
    let message: { type?: unknown; id?: unknown; payload?: unknown };
    try {
      message = JSON.parse(raw.toString()) as typeof message;
    } catch {
      return send({ type: 'error', payload: { errors: [{ errorType: 'BadRequestException', message: 'Messages must be JSON' }] } });
    }
    const id = typeof message.id === 'string' ? message.id : undefined;
    switch (message.type) {
      case 'connection_init': {
        const authorization = authorizationFrom(connectionHeader(request));
        connected = authorization
          ? deps.authenticate(authorization).catch((error: Error) => {
              refuse({ errors: [{ errorType: 'UnauthorizedException', message: error.message }] });
              return undefined;
            })
          : Promise.resolve(undefined);
        void connected.then((caller) => {
          if (!caller) {
            if (!authorization) refuse({ errors: [{ errorType: 'UnauthorizedException', message: 'Valid authorization header not provided.' }] });
            return;
          }
          send({ type: 'connection_ack', payload: { connectionTimeoutMs: CONNECTION_TIMEOUT_MS } });
          keepAlive = setInterval(() => send({ type: 'ka' }), deps.keepAliveMs ?? KEEP_ALIVE_MS);
          keepAlive.unref();
        });
        return;
      }
      case 'start':
        if (!id || operations.has(id)) return send({ id, type: 'error', payload: { errors: [{ errorType: 'BadRequestException', message: 'start needs a new id' }] } });
        if (!connected) return refuse({ errors: [{ errorType: 'BadRequestException', message: 'Send connection_init first' }] });
        void start(id, message.payload).catch(() =>
          send({ id, type: 'error', payload: { errors: [{ errorType: 'InternalFailure', message: 'Internal failure; the request was logged' }] } }),
        );
        return;
      case 'stop': {
        const iterator = id ? operations.get(id) : undefined;
        if (id && iterator) {
          operations.delete(id);
          void iterator.return?.();
        }
        send({ id, type: 'complete' });
        return;
      }
      default:
        send({ type: 'error', payload: { errors: [{ errorType: 'BadRequestException', message: `Unknown message type ${String(message.type)}` }] } });
    }
  });
}
