/**
 * The AWS JSON 1.0 / 1.1 protocols (DynamoDB, SQS, EventBridge, Secrets Manager, Timestream):
 * `POST /` with `X-Amz-Target: <prefix>.<Operation>` and a JSON body; errors carry their code
 * in x-amzn-errortype or `__type`.
 */
import { errorCode } from './aws-service-error.js';
import { header, type AwsClient } from './aws-client.js';
import type { HttpResponse } from './http-transport.js';

/** Reads a JSON or REST-JSON error answer. */
export function parseJsonError(response: HttpResponse, parse: (text: string) => unknown = JSON.parse): { code: string; message: string; fields?: Record<string, unknown> } {
  let fields: Record<string, unknown> = {};
  try {
    const parsed: unknown = response.body.length > 0 ? parse(response.body.toString('utf8')) : {};
    if (parsed && typeof parsed === 'object') fields = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's page): the status says what happened.
  }
  const raw = header(response, 'x-amzn-errortype') ?? fields.__type ?? fields.code ?? fields.Code;
  const code = typeof raw === 'string' && raw.length > 0 ? errorCode(raw) : `Http${response.status}Error`;
  const message = fields.message ?? fields.Message ?? fields.errorMessage ?? `${code} (HTTP ${response.status})`;
  return { code, message: String(message), fields };
}

/** How a JSON operation's body is written and read (binary members, timestamps). */
export interface JsonCodec {
  readonly replacer?: (this: unknown, key: string, value: unknown) => unknown;
  /** @default JSON.parse */
  readonly parse?: (text: string) => unknown;
}

/** Calls one JSON-protocol operation; the answer's members plus `$metadata`. */
export async function callJson<T = Record<string, unknown>>(
  client: AwsClient,
  version: '1.0' | '1.1',
  target: string,
  input: unknown,
  codec: JsonCodec = {},
  origin?: URL,
): Promise<T & { $metadata: unknown }> {
  const { response, $metadata } = await client.request({
    method: 'POST',
    path: '/',
    ...(origin && { origin }),
    headers: { 'content-type': `application/x-amz-json-${version}`, 'x-amz-target': target },
    body: JSON.stringify(input ?? {}, codec.replacer),
  });
  const text = response.body.toString('utf8');
  const output = (text.length > 0 ? (codec.parse ?? JSON.parse)(text) : {}) as T;
  return Object.assign(output as object, { $metadata }) as T & { $metadata: unknown };
}

/** A JSON replacer that writes every Uint8Array (a blob member) as base64, as the JSON protocols take blobs. */
export function blobsAsBase64(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  return value;
}

/** A base64 blob member as the SDK returns it: a Uint8Array. */
export function base64Blob(value: string): Uint8Array {
  const buffer = Buffer.from(value, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A command class per operation: `new XCommand(input)` with `.input`, as the SDK's. */
export interface LeanCommand<I = Record<string, unknown>> {
  readonly operation: string;
  readonly input: I;
}

/** Makes the command class of `operation`. */
export function commandClass(operation: string): new (input?: Record<string, unknown>) => LeanCommand {
  return class {
    readonly operation = operation;
    constructor(readonly input: Record<string, unknown> = {}) {}
  };
}
