/** A local HTTP server standing in for an AWS JSON-protocol API: records each request and answers what the test scripts. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

export interface SinkResponse {
  readonly status: number;
  readonly body: unknown;
  /** Sets x-amzn-ErrorType, how the SDK reads the error name for JSON protocols. */
  readonly errorType?: string;
}

export interface WireSink {
  readonly url: string;
  readonly requests: SinkRequest[];
  /** Decides each answer; the default answers 200 with `{}`. */
  respond: (request: SinkRequest, index: number) => SinkResponse;
  close(): Promise<void>;
}

export async function startWireSink(): Promise<WireSink> {
  const requests: SinkRequest[] = [];
  const sink: WireSink = {
    url: '',
    requests,
    respond: () => ({ status: 200, body: {} }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request: SinkRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : {} };
      requests.push(request);
      const answer = sink.respond(request, requests.length - 1);
      res.writeHead(answer.status, {
        'content-type': 'application/x-amz-json-1.0',
        ...(answer.errorType && { 'x-amzn-errortype': answer.errorType }),
      });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (sink as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return sink;
}
