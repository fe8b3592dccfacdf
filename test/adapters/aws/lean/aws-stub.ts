/** A local HTTP server standing in for an AWS API: records each request whole and answers what the test scripts. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll } from 'vitest';

export interface StubRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface StubAnswer {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** An object is sent as JSON. */
  readonly body?: unknown;
  /** Drops the connection instead of answering. */
  readonly hangUp?: boolean;
  /** Answers this much later. */
  readonly delayMs?: number;
}

export interface AwsStub {
  readonly url: string;
  readonly requests: StubRequest[];
  /** Decides each answer; the default is 200 with `{}`. */
  answer: (request: StubRequest, index: number) => StubAnswer;
  close(): Promise<void>;
}

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDLEANTEST', secretAccessKey: 'lean-test-secret', sessionToken: 'lean-test-session-token' } as const;

/** SigV4 Authorization as AWS expects it, for `service` in us-east-1 with {@link TEST_CREDENTIALS}. */
export function authorizationPattern(service: string): RegExp {
  return new RegExp(`^AWS4-HMAC-SHA256 Credential=AKIDLEANTEST/\\d{8}/us-east-1/${service}/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`);
}

export async function startAwsStub(): Promise<AwsStub> {
  const requests: StubRequest[] = [];
  const stub: AwsStub = {
    url: '',
    requests,
    answer: () => ({ body: {} }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: StubRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(request);
      const answer = stub.answer(request, requests.length - 1);
      if (answer.hangUp) {
        req.socket.destroy();
        return;
      }
      const body = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      const requestId = `req-${requests.length}`;
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(answer.status ?? 200, { 'x-amzn-requestid': requestId, ...answer.headers });
        res.end(body);
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (stub as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return stub;
}

/** Starts a stub for the file's tests (handed to `use`), empties it and restores its default answer after each, and closes it at the end. */
export function useAwsStub(use: (stub: AwsStub) => void): void {
  let stub: AwsStub | undefined;
  beforeAll(async () => {
    stub = await startAwsStub();
    use(stub);
  });
  afterAll(async () => {
    await stub?.close();
  });
  afterEach(() => {
    if (!stub) return;
    stub.requests.length = 0;
    stub.answer = () => ({ body: {} });
  });
}
