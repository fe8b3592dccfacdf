/**
 * The AWS REST-JSON protocol (IoT data plane, IoT control plane): the operation is the method
 * and path, members bound to path labels, query parameters and headers, the rest a JSON body (or
 * the raw payload); errors carry their code in x-amzn-errortype or the body.
 */
import type { AwsClient } from './aws-client.js';
import { escapeRfc3986 } from './request-signer.js';
import type { LeanCommand } from './aws-json-protocol.js';

/** A member bound to the query string or a header; body members are the unbound rest. */
export interface RestOperation {
  readonly method: string;
  /** Path with `{member}` labels. */
  readonly path: string;
  /** Member → query parameter name. */
  readonly query?: Readonly<Record<string, string>>;
  /** Member → header name. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The member sent as the raw body (a blob), instead of a JSON body of the unbound members. */
  readonly payload?: string;
  /** Members of the answer that are timestamps (epoch seconds on the wire, Date for the caller); `a.b` names a nested one. */
  readonly timestamps?: readonly string[];
}

/** Calls one REST-JSON operation; the answer's members plus `$metadata`. */
export async function callRestJson<O = Record<string, unknown>>(client: AwsClient, operation: RestOperation, command: LeanCommand<unknown>): Promise<O> {
  const input = { ...((command.input ?? {}) as Record<string, unknown>) };
  const path = operation.path.replace(/\{(\w+)\}/g, (_, member: string) => {
    const value = input[member];
    if (value === undefined || value === '') throw new Error(`${command.operation}: ${member} is required`);
    delete input[member];
    return escapeRfc3986(String(value));
  });
  const query: Record<string, string> = {};
  for (const [member, name] of Object.entries(operation.query ?? {})) {
    if (input[member] !== undefined) query[name] = String(input[member]);
    delete input[member];
  }
  const headers: Record<string, string> = {};
  for (const [member, name] of Object.entries(operation.headers ?? {})) {
    if (input[member] !== undefined) headers[name] = String(input[member]);
    delete input[member];
  }
  let body: string | Uint8Array | undefined;
  if (operation.payload) {
    const payload = input[operation.payload];
    body = payload === undefined ? undefined : typeof payload === 'string' ? payload : (payload as Uint8Array);
    headers['content-type'] = 'application/octet-stream';
  } else if (Object.keys(input).length > 0 || operation.method === 'POST' || operation.method === 'PUT') {
    body = JSON.stringify(input);
    headers['content-type'] = 'application/json';
  }
  const { response, $metadata } = await client.request({ method: operation.method, path, query, headers, ...(body !== undefined && { body }) });
  const text = response.body.toString('utf8');
  const output = (text.length > 0 ? JSON.parse(text) : {}) as Record<string, unknown>;
  for (const path of operation.timestamps ?? []) {
    const members = path.split('.');
    const last = members.pop()!;
    let holder: unknown = output;
    for (const member of members) holder = holder !== null && typeof holder === 'object' ? (holder as Record<string, unknown>)[member] : undefined;
    if (holder === null || typeof holder !== 'object') continue;
    const fields = holder as Record<string, unknown>;
    if (typeof fields[last] === 'number') fields[last] = new Date((fields[last] as number) * 1000);
  }
  return Object.assign(output, { $metadata }) as O;
}
