/**
 * The AppSync publisher's HTTP transport: node:https (node:http for a local server) over one
 * keep-alive agent. The global fetch would load undici on the events Lambda's first publish,
 * about +80 ms CPU and +39 MiB per cold start, and opens no fewer connections.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

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
  const maxSockets = options.maxSockets ?? 16;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const https = new HttpsAgent({ keepAlive: true, maxSockets });
  const http = new HttpAgent({ keepAlive: true, maxSockets });
  return (url, headers, body) =>
    new Promise<PostResponse>((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const send = secure ? httpsRequest : httpRequest;
      const request = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: secure ? https : http }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      request.on('error', reject);
      request.end(body);
    });
}
