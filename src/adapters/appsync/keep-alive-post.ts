/**
 * The AppSync publisher's HTTP transport: a POST over the lean AWS clients' keep-alive
 * node:https transport (node:http for a local server). The global fetch would load undici on the
 * events Lambda's first publish, about +80 ms CPU and +39 MiB per cold start, and opens no fewer
 * connections.
 */
import { keepAliveTransport } from '../aws/lean/http-transport.js';

/** A response, read whole (AppSync answers are small). */
export interface PostResponse {
  readonly status: number;
  readonly text: string;
}

/** Sends one POST. */
export type Post = (url: URL, headers: Readonly<Record<string, string>>, body: string) => Promise<PostResponse>;

/** Options of {@link keepAlivePost}. */
export interface KeepAlivePostOptions {
  /** Connections kept per host; the events handler publishes up to 16 devices' changes at once. @default 16 */
  readonly maxSockets?: number;
  /** A request that has not answered by then fails (and the change feed retries it). @default 10_000 */
  readonly timeoutMs?: number;
}

/** A Post over keep-alive agents created once, so a warm function reuses its TLS connection. */
export function keepAlivePost(options: KeepAlivePostOptions = {}): Post {
  const send = keepAliveTransport({ maxSockets: options.maxSockets ?? 16, requestTimeoutMs: options.timeoutMs ?? 10_000 });
  return async (url, headers, body) => {
    const response = await send({ method: 'POST', url, headers, body });
    return { status: response.status, text: response.body.toString('utf8') };
  };
}
