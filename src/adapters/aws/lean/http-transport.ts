/**
 * The HTTP transport of the lean AWS clients and the AppSync publisher: node:https (node:http for
 * a local endpoint) over keep-alive agents created once per process, so a warm function reuses its
 * TLS connections. The global fetch would load undici on the first call, about +80 ms CPU and
 * +39 MiB per cold start; the SDK's own handler costs its whole middleware stack.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** One request, body whole (AWS API requests are small). */
export interface HttpRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

/** One response, read whole. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Sends one request; rejects on a network failure or timeout (a `TimeoutError` then). */
export type HttpSend = (request: HttpRequest) => Promise<HttpResponse>;

/** Limits of a {@link keepAliveTransport}. */
export interface HttpTransportOptions {
  /** Connections kept per host. @default 50 (the SDK's default) */
  readonly maxSockets?: number;
  /** A connection not established by then fails. @default 3_000 */
  readonly connectionTimeoutMs?: number;
  /** A request whose socket stays silent that long fails. @default 10_000 */
  readonly requestTimeoutMs?: number;
}

/** A timeout of the transport: retried as transient, like the SDK's `TimeoutError`. */
export class HttpTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** A transport over its own keep-alive agents. */
export function keepAliveTransport(options: HttpTransportOptions = {}): HttpSend {
  const maxSockets = options.maxSockets ?? 50;
  const connectionTimeoutMs = options.connectionTimeoutMs ?? 3_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const https = new HttpsAgent({ keepAlive: true, maxSockets });
  const http = new HttpAgent({ keepAlive: true, maxSockets });
  return ({ method, url, headers, body }) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const send = secure ? httpsRequest : httpRequest;
      const length = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
      const request = send(url, { method, headers: { ...headers, 'content-length': String(length) }, agent: secure ? https : http }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      });
      request.on('error', reject);
      request.setTimeout(requestTimeoutMs, () => request.destroy(new HttpTimeoutError(`no answer from ${url.host} within ${requestTimeoutMs} ms`)));
      request.on('socket', (socket) => {
        // A reused keep-alive socket is already connected.
        if (!socket.connecting) return;
        const timer = setTimeout(() => request.destroy(new HttpTimeoutError(`no connection to ${url.host} within ${connectionTimeoutMs} ms`)), connectionTimeoutMs);
        socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      request.end(body);
    });
}

let shared: HttpSend | undefined;

/** The process's one transport with the default limits, created on first use. */
export function sharedTransport(): HttpSend {
  return (shared ??= keepAliveTransport());
}
