import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GraphQLError,
  execute,
  getOperationAST,
  parse,
  subscribe,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { AwsCredentials } from '../../adapters/appsync/sigv4-signer.js';
import { AppSyncResolverError } from '../../graphql/appsync-error.js';
import type { Caller } from './auth-rules.js';
import { APPSYNC_REALTIME_PROTOCOL, serveAppSyncRealtime } from './appsync-realtime.js';
import { acceptsHtml, sendGraphiqlPage, serveGraphiqlAsset } from './graphiql-page.js';
import { buildLocalAppSyncSchema, type LambdaDataSource, type LocalAppSyncSchemaOptions, type LocalRequestContext } from './local-appsync-schema.js';
import { LOCAL_SIGN_IN_PATH } from '../../contracts/console-config.js';
import { SUBSCRIPTION_STARTED_FIELD } from '../../contracts/live-updates.js';
import { createConsoleFiles } from './console-files.js';
import { LocalIamVerifier } from './local-iam-verifier.js';
import { handleLocalSignIn } from './local-sign-in.js';
import type { LocalTokenIssuer } from './local-token-issuer.js';
import { SubscriptionHub } from './subscription-hub.js';
import { validateWithinLimits } from './request-limits.js';

/** Options for {@link startLocalGraphqlServer}. */
export interface LocalGraphqlServerOptions {
  /** The Lambda data source: the same handler lambdas/graphql exports (createResolverHandler). */
  readonly resolver: LambdaDataSource;
  /** Subscription resolvers with a data source (see LocalAppSyncSchemaOptions). */
  readonly subscriptionResolvers?: LocalAppSyncSchemaOptions['subscriptionResolvers'];
  /** Verifies user pool tokens (`iotctl token`). */
  readonly issuer: LocalTokenIssuer;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 4000; 0 picks a free port */
  readonly port?: number;
  /** Region in SigV4 scopes. @default 'us-east-1' */
  readonly region?: string;
  /** Credentials the IAM mode accepts. @default one random key pair per process (see iamCredentials) */
  readonly iamCredentials?: readonly AwsCredentials[];
  /** @default the schema file */
  readonly sdl?: string;
  /** The built web console, served at / beside /graphql. @default no console */
  readonly consoleDir?: string;
  readonly log?: (line: string) => void;
}

/** A running local AppSync stand-in. */
export interface LocalGraphqlServer {
  /** http://host:port/graphql */
  readonly url: string;
  /** ws://host:port/graphql (graphql-ws protocol) */
  readonly realtimeUrl: string;
  /** ws://host:port/graphql/realtime (AppSync's real-time protocol, for Amplify and AppSync clients) */
  readonly appSyncRealtimeUrl: string;
  readonly region: string;
  /** Credentials an in-process IAM caller (the change publisher) signs with. */
  readonly iamCredentials: AwsCredentials;
  readonly hub: SubscriptionHub;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
/** How long the rest of an oversized body is drained before the connection is cut. */
const OVERSIZED_BODY_DRAIN_MS = 5_000;

/** An authentication failure: HTTP 401 before any GraphQL processing, as AppSync answers it. */
class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
}

function errorTypeOf(error: GraphQLError): string {
  const original = error.originalError;
  if (original instanceof AppSyncResolverError) return original.errorType;
  const fromExtensions = (original as GraphQLError | undefined)?.extensions?.errorType ?? error.extensions?.errorType;
  if (typeof fromExtensions === 'string') return fromExtensions;
  if (original && !(original instanceof GraphQLError)) return 'InternalFailure';
  // graphql-js's own errors: syntax, validation, variable coercion, null in a non-null field.
  return error.path ? 'InternalFailure' : 'ValidationError';
}

/** An error in AppSync's response shape: errorType beside the message, no extensions. */
function formatError(error: GraphQLError): GraphQLFormattedError & { errorType: string; errorInfo: null; data: null } {
  const errorType = errorTypeOf(error);
  const internal = errorType === 'InternalFailure' && error.originalError && !(error.originalError instanceof AppSyncResolverError);
  return {
    message: internal ? 'Internal failure; the request was logged' : error.message,
    errorType,
    errorInfo: null,
    data: null,
    ...(error.path && { path: error.path }),
    ...(error.locations && { locations: error.locations }),
  };
}

function formatResult(result: ExecutionResult): Record<string, unknown> {
  return {
    ...('data' in result && { data: result.data }),
    ...(result.errors && result.errors.length > 0 && { errors: result.errors.map(formatError) }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...CORS });
  res.end(text);
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, content-type, x-amz-date, x-amz-security-token, x-amz-content-sha256',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
};

/** The body, or a RangeError once it passes MAX_BODY_BYTES (the rest is then drained and discarded). */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      // Stop keeping it, but keep reading: leaving the rest unread (or destroying the stream,
      // which breaking out of an async iterator does) made the next request on the same
      // keep-alive connection fail with ECONNRESET.
      req.removeListener('data', onData);
      req.resume();
      reject(new RangeError('body too large'));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/**
 * Starts the local AppSync stand-in: POST /graphql (queries and mutations), GET /graphql from a
 * browser (GraphiQL), graphql-ws subscriptions on the same path. Every request is authenticated
 * (user pool token or SigV4) and every field checked against the schema's @aws_* directives.
 */
export async function startLocalGraphqlServer(options: LocalGraphqlServerOptions): Promise<LocalGraphqlServer> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const log = options.log ?? (() => {});
  const iamCredentials: AwsCredentials = options.iamCredentials?.[0] ?? {
    accessKeyId: `LOCAL${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
  const iam = new LocalIamVerifier(options.iamCredentials ?? [iamCredentials], region);
  const hub = new SubscriptionHub();
  const { schema } = buildLocalAppSyncSchema({
    lambda: options.resolver,
    hub,
    ...(options.subscriptionResolvers && { subscriptionResolvers: options.subscriptionResolvers }),
    ...(options.sdl && { sdl: options.sdl }),
  });

  async function cognitoCaller(token: string): Promise<Caller> {
    try {
      const claims = await options.issuer.verify(token.replace(/^Bearer\s+/i, ''));
      return { mode: 'cognito', sub: claims.sub, username: claims['cognito:username'], groups: claims['cognito:groups'], claims };
    } catch (error) {
      const expired = (error as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new AuthenticationError(expired ? 'Token has expired.' : 'Valid authorization header not provided.');
    }
  }

  async function authenticate(req: IncomingMessage, body: string): Promise<Caller> {
    const authorization = req.headers.authorization;
    if (!authorization) throw new AuthenticationError('Valid authorization header not provided.');
    if (authorization.startsWith('AWS4-HMAC-SHA256 ')) {
      try {
        const accessKeyId = await iam.verify({ method: req.method ?? 'POST', path: (req.url ?? '/').split('?')[0]!, headers: req.headers, body });
        return { mode: 'iam', accessKeyId };
      } catch (error) {
        throw new AuthenticationError(`The request signature is not valid: ${(error as Error).message}`);
      }
    }
    return cognitoCaller(authorization);
  }

  /** Runs one query or mutation; a completed mutation then fires the subscriptions listening to it. */
  async function run(args: ExecutionArgs): Promise<ExecutionResult> {
    const result = await execute(args);
    const context = args.contextValue as LocalRequestContext;
    for (const [field, value] of context.mutationResults) {
      if (value !== null && value !== undefined) hub.publish(field, value);
    }
    return result;
  }

  function contextFor(caller: Caller, sourceIp: string, headers: Record<string, string>): LocalRequestContext {
    return { caller, sourceIp, headers, mutationResults: new Map() };
  }

  async function handleGraphql(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      // The client may still be sending the rest: answer, close the connection so no client
      // reuses it mid-body, and cut a sender that goes on for long after the answer.
      res.setHeader('connection', 'close');
      const cut = setTimeout(() => req.socket.destroy(), OVERSIZED_BODY_DRAIN_MS).unref();
      req.socket.once('close', () => clearTimeout(cut));
      return send(res, 413, { errors: [{ errorType: 'BadRequestException', message: `Request body exceeds ${MAX_BODY_BYTES} bytes` }] });
    }
    let caller: Caller;
    try {
      caller = await authenticate(req, body);
    } catch (error) {
      return send(res, 401, { errors: [{ errorType: 'UnauthorizedException', message: (error as Error).message }] });
    }
    let request: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      request = JSON.parse(body) as typeof request;
      if (typeof request !== 'object' || request === null || typeof request.query !== 'string') throw new Error('query must be a string');
    } catch (error) {
      return send(res, 400, { errors: [{ errorType: 'MalformedHttpRequestException', message: `Invalid request body: ${(error as Error).message}` }] });
    }
    let document: DocumentNode;
    try {
      document = parse(request.query as string);
    } catch (error) {
      return send(res, 200, formatResult({ errors: [error as GraphQLError] }));
    }
    const validationErrors = validateWithinLimits(schema, document);
    // AppSync answers a well-formed request with 200 and the errors in the body, as
    // GraphQL over HTTP does for application/json; only a malformed body is a 400.
    if (validationErrors.length > 0) return send(res, 200, formatResult({ errors: validationErrors }));
    const operationName = typeof request.operationName === 'string' ? request.operationName : undefined;
    const operation = getOperationAST(document, operationName);
    if (operation?.operation === 'subscription') {
      return send(res, 200, { errors: [{ errorType: 'ValidationError', message: `Subscriptions use the WebSocket endpoint ws://${req.headers.host}/graphql` }] });
    }
    const headers = Object.fromEntries(Object.entries(req.headers).flatMap(([k, v]) => (typeof v === 'string' && k !== 'authorization' ? [[k, v]] : [])));
    const result = await run({
      schema,
      document,
      variableValues: (request.variables ?? undefined) as Record<string, unknown> | undefined,
      operationName,
      contextValue: contextFor(caller, req.socket.remoteAddress ?? '127.0.0.1', headers),
    });
    send(res, 200, formatResult(result));
  }

  const serveConsole = options.consoleDir ? createConsoleFiles(options.consoleDir) : undefined;
  const notFound = (res: ServerResponse) => send(res, 404, { errors: [{ errorType: 'NotFound', message: 'Use /graphql' }] });
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (serveGraphiqlAsset(req, res, path)) return;
    const fail = (what: string) => (error: unknown) => {
      log(`${what}: unexpected ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent) send(res, 500, { errors: [{ errorType: 'InternalFailure', message: 'Internal failure; the request was logged' }] });
    };
    if (path === LOCAL_SIGN_IN_PATH && serveConsole) return void handleLocalSignIn(req, res, options.issuer, host).catch(fail('sign-in'));
    if (path !== '/graphql') {
      if (!serveConsole) return notFound(res);
      return void serveConsole(req, res, path).then((served) => served || notFound(res), fail('console'));
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS);
      return res.end();
    }
    if (req.method === 'GET' && acceptsHtml(req)) return sendGraphiqlPage(req, res);
    if (req.method !== 'POST') return send(res, 405, { errors: [{ errorType: 'BadRequestException', message: 'Use POST' }] });
    handleGraphql(req, res).catch((error: unknown) => {
      log(`graphql: unexpected ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent) send(res, 500, { errors: [{ errorType: 'InternalFailure', message: 'Internal failure; the request was logged' }] });
    });
  });

  // Two WebSocket protocols: graphql-ws on /graphql, AppSync's real-time protocol on
  // /graphql/realtime (where AppSync clients look for it beside a non-AppSync endpoint).
  const wss = new WebSocketServer({ noServer: true });
  const realtime = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has(APPSYNC_REALTIME_PROTOCOL) ? APPSYNC_REALTIME_PROTOCOL : false),
  });
  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/graphql') wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    else if (path === '/graphql/realtime') {
      realtime.handleUpgrade(req, socket, head, (ws) =>
        serveAppSyncRealtime(ws, req, { schema, authenticate: cognitoCaller, context: (caller, ip) => contextFor(caller, ip, {}), formatResult }),
      );
    } else socket.destroy();
  });
  const callers = new WeakMap<object, Caller>();
  const wsCleanup = useServer(
    {
      schema,
      // Our own graphql-js functions: under some loaders graphql-ws resolves another copy of
      // graphql, whose instanceof checks would refuse this schema.
      parse,
      validate: (schema, document) => validateWithinLimits(schema, document),
      execute: (args) => run(args),
      subscribe: (args) => subscribe(args),
      onConnect: async (ctx) => {
        const params = (ctx.connectionParams ?? {}) as Record<string, unknown>;
        const token = params.Authorization ?? params.authorization;
        if (typeof token !== 'string' || token.length === 0) return false;
        try {
          callers.set(ctx, await cognitoCaller(token));
          return true;
        } catch {
          return false;
        }
      },
      context: (ctx) => {
        const caller = callers.get(ctx);
        if (!caller) throw new Error('unauthenticated connection');
        return contextFor(caller, ctx.extra.request.socket.remoteAddress ?? '127.0.0.1', {});
      },
      // AppSync's start_ack, in the only message graphql-ws lets a server send unasked: the
      // subscription listens now, so a client that reads after this ping misses no change.
      onOperation: (ctx, id, _payload, _args, result) => {
        if (Symbol.asyncIterator in result && id in ctx.subscriptions) {
          ctx.extra.socket.send(JSON.stringify({ type: 'ping', payload: { [SUBSCRIPTION_STARTED_FIELD]: id } }));
        }
      },
      onNext: (_ctx, _id, _payload, _args, result) => formatResult(result) as ExecutionResult,
      onError: (_ctx, _id, _payload, errors) => errors.map(formatError),
    },
    wss,
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4000, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}/graphql`;
  return {
    url,
    realtimeUrl: `ws://${host}:${port}/graphql`,
    appSyncRealtimeUrl: `ws://${host}:${port}/graphql/realtime`,
    region,
    iamCredentials,
    hub,
    async stop() {
      await wsCleanup.dispose();
      for (const client of realtime.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => realtime.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
