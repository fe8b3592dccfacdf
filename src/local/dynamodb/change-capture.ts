/**
 * DynamoDB Streams stand-in: an HTTP proxy in front of dynalite (which has no Streams).
 *
 * Every DynamoDB client of the local platform talks to this proxy. Writes to a table with a
 * stream (PutItem, UpdateItem, DeleteItem, BatchWriteItem) are serialized per item key; the
 * proxy reads the item straight from dynalite before and after forwarding the unchanged
 * request, and when the item really changed it emits a record in the exact shape a Lambda
 * receives from a DynamoDB stream (NEW_AND_OLD_IMAGES). A write that changes nothing (failed
 * condition, identical put) emits nothing, as DynamoDB Streams does. Everything else is
 * forwarded untouched.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import type { TableDefinition } from '../../contracts/tables.js';
import { KeyedMutex } from './keyed-mutex.js';
import { LOCAL_REGION } from './dynalite.js';

/** Item attributes in DynamoDB's JSON wire format, as they appear in stream records. */
export type WireItem = Record<string, AttributeValue>;

/** A table whose writes are captured. */
export interface CapturedTable {
  readonly tableName: string;
  /** Partition key name, then the sort key name when the table has one. */
  readonly keyAttributes: readonly string[];
}

/** Options for {@link startChangeCapture}. */
export interface ChangeCaptureOptions {
  /** dynalite's endpoint, e.g. `http://127.0.0.1:41234`. */
  readonly upstream: string;
  readonly tables: readonly CapturedTable[];
  /** Receives each record before the client gets the write's response, which waits for the returned promise (durability). */
  readonly onRecord: (record: DynamoDBRecord) => unknown;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default LOCAL_REGION */
  readonly region?: string;
  /** Where sequence numbers come from; @default a new {@link SequenceClock} */
  readonly sequence?: SequenceClock;
  /** Told about capture failures that the client cannot see (the read after a write failed). */
  readonly onError?: (error: Error) => void;
}

/** A running capture proxy. */
export interface ChangeCapture {
  /** The endpoint every DynamoDB client must use. */
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

const TARGET_PREFIX = 'DynamoDB_20120810.';
const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
// Per connection, not end to end: never copied between the client and dynalite legs.
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer'];
const LOCAL_ACCOUNT = '000000000000';

/**
 * Strictly increasing stream sequence numbers as decimal strings (22 digits today; AWS's have
 * 21-40). They start from the wall clock (milliseconds x 10^9) so that they keep increasing
 * across restarts of a persistent local platform: consumers drop records whose sequence they
 * have already seen.
 */
export class SequenceClock {
  private last = 0n;

  constructor(private readonly now: () => number = Date.now) {}

  next(): string {
    const fromClock = BigInt(Math.floor(this.now())) * 1_000_000_000n;
    this.last = fromClock > this.last ? fromClock : this.last + 1n;
    return this.last.toString();
  }
}

/** The tables of `definitions` that have a stream, with their physical names from `names`. */
export function capturedTables(
  definitions: readonly TableDefinition[],
  names: Readonly<Record<string, string>>,
): CapturedTable[] {
  return definitions
    .filter((definition) => definition.stream)
    .map((definition) => {
      const tableName = names[definition.id];
      if (!tableName) throw new Error(`No table name given for ${definition.id}`);
      return {
        tableName,
        keyAttributes: [definition.partitionKey.name, ...(definition.sortKey ? [definition.sortKey.name] : [])],
      };
    });
}

/** Starts the proxy; rejects with the listen error (e.g. EADDRINUSE) when the port is taken. */
export async function startChangeCapture(options: ChangeCaptureOptions): Promise<ChangeCapture> {
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true });
  const tables = new Map(options.tables.map((t) => [t.tableName, t]));
  const mutex = new KeyedMutex();
  const clock = options.sequence ?? new SequenceClock();
  const region = options.region ?? LOCAL_REGION;
  const streamLabel = new Date().toISOString().replace('Z', '');
  const onError = options.onError ?? (() => undefined);

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const upstreamRequest = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: withoutHopByHop(req.headers),
          agent,
        },
        resolve,
      );
      upstreamRequest.once('error', reject);
      upstreamRequest.end(body);
    });

  const getItem = async (tableName: string, key: WireItem): Promise<WireItem | undefined> => {
    const response = await postJson(upstream, agent, 'GetItem', { TableName: tableName, Key: key, ConsistentRead: true });
    if (response.status !== 200) throw new GetItemError(tableName, response.status, response.text);
    return (JSON.parse(response.text) as { Item?: WireItem }).Item;
  };

  const captureWrite = async (req: IncomingMessage, res: ServerResponse, body: Buffer, targets: WriteTarget[]) => {
    const release = await mutex.lock(targets.map((t) => lockKey(t.table.tableName, t.key)));
    try {
      let before: Array<WireItem | undefined>;
      try {
        before = await Promise.all(targets.map((t) => getItem(t.table.tableName, t.key)));
      } catch (error) {
        // A key the read rejects (wrong type, unknown table) makes the write fail the same way:
        // let dynalite give the client its own typed error; nothing can change, nothing to capture.
        if (error instanceof GetItemError && error.status >= 400 && error.status < 500) return await passThrough(req, res, body);
        // Nothing was written yet: fail the call so the SDK retries, rather than lose a record.
        return sendError(res, 500, 'com.amazonaws.dynamodb.v20120810#InternalServerError', `change capture: ${(error as Error).message}`);
      }
      const response = await forward(req, body);
      const responseBody = await readBody(response);
      try {
        const after = await Promise.all(targets.map((t) => getItem(t.table.tableName, t.key)));
        const records = targets.flatMap((target, i) => streamRecord(target, before[i], after[i]) ?? []);
        // The client hears of its write only once the changes it made are kept.
        await Promise.all(records.map(async (record) => options.onRecord(record)));
      } catch (error) {
        onError(new Error(`change capture lost a record of ${req.headers['x-amz-target']}: ${(error as Error).message}`));
      }
      res.writeHead(response.statusCode ?? 500, withoutHopByHop(response.headers));
      res.end(responseBody);
    } finally {
      release();
    }
  };

  const streamRecord = (target: WriteTarget, oldImage?: WireItem, newImage?: WireItem): DynamoDBRecord | undefined => {
    if (!oldImage && !newImage) return undefined;
    if (oldImage && newImage && sameItem(oldImage, newImage)) return undefined;
    const eventName = !oldImage ? 'INSERT' : !newImage ? 'REMOVE' : 'MODIFY';
    const keys = Object.fromEntries(target.table.keyAttributes.map((name) => [name, target.key[name]!]));
    const images = { Keys: keys, ...(newImage && { NewImage: newImage }), ...(oldImage && { OldImage: oldImage }) };
    return {
      eventID: randomUUID().replaceAll('-', ''),
      eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: region,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        ...images,
        SequenceNumber: clock.next(),
        // Approximation: DynamoDB counts attribute names and values; the JSON length is close.
        SizeBytes: Buffer.byteLength(JSON.stringify(images)),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT}:table/${target.table.tableName}/stream/${streamLabel}`,
    };
  };

  const passThrough = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const response = await forward(req, body);
    res.writeHead(response.statusCode ?? 500, withoutHopByHop(response.headers));
    response.pipe(res);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    const targets = WRITE_OPERATIONS.has(operation) ? writeTargets(operation, body, tables) : [];
    if (targets.length > 0) return captureWrite(req, res, body, targets);
    return passThrough(req, res, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      onError(error);
      if (!res.headersSent) sendError(res, 500, 'com.amazonaws.dynamodb.v20120810#InternalServerError', error.message);
      else res.destroy(error);
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

/** dynalite refused one of our own reads. */
class GetItemError extends Error {
  constructor(
    tableName: string,
    readonly status: number,
    body: string,
  ) {
    super(`GetItem on ${tableName} failed with ${status}: ${body}`);
    this.name = 'GetItemError';
  }
}

interface WriteTarget {
  readonly table: CapturedTable;
  /** The item's primary key in wire format. */
  readonly key: WireItem;
}

/** The captured items a write request touches; empty when none or when the body is invalid. */
function writeTargets(operation: string, body: Buffer, tables: ReadonlyMap<string, CapturedTable>): WriteTarget[] {
  let request: Record<string, unknown>;
  try {
    request = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return []; // dynalite answers with the SerializationException the SDK expects
  }
  if (typeof request !== 'object' || request === null) return [];
  const targets: WriteTarget[] = [];
  const add = (tableName: unknown, item: unknown) => {
    const table = typeof tableName === 'string' ? tables.get(tableNameOf(tableName)) : undefined;
    if (!table || typeof item !== 'object' || item === null) return;
    const key: WireItem = {};
    for (const name of table.keyAttributes) {
      const value = (item as WireItem)[name];
      if (value === undefined) return; // invalid request: dynalite rejects it, nothing to capture
      key[name] = value;
    }
    targets.push({ table, key });
  };
  if (operation === 'PutItem') add(request.TableName, request.Item);
  else if (operation === 'UpdateItem' || operation === 'DeleteItem') add(request.TableName, request.Key);
  else if (operation === 'BatchWriteItem' && typeof request.RequestItems === 'object' && request.RequestItems !== null) {
    for (const [tableName, writes] of Object.entries(request.RequestItems as Record<string, unknown>)) {
      if (!Array.isArray(writes)) continue;
      for (const write of writes as Array<{ PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } }>) {
        add(tableName, write?.PutRequest?.Item ?? write?.DeleteRequest?.Key);
      }
    }
  }
  return targets;
}

/** DynamoDB also accepts a table ARN where a name goes. */
function tableNameOf(nameOrArn: string): string {
  const match = /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)/.exec(nameOrArn);
  return match ? match[1]! : nameOrArn;
}

function lockKey(tableName: string, key: WireItem): string {
  return `${tableName}\u0000${canonical(key)}`;
}

/** Whether two items hold the same attributes, regardless of attribute and set order. */
export function sameItem(a: WireItem, b: WireItem): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown, parentKey?: string): string {
  if (Array.isArray(value)) {
    const parts = value.map((v) => canonical(v));
    // String, number and binary sets are unordered; lists (L) are ordered.
    if (parentKey === 'SS' || parentKey === 'NS' || parentKey === 'BS') parts.sort();
    return `[${parts.join(',')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k], k)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const copy = { ...headers };
  for (const name of HOP_BY_HOP) delete copy[name];
  return copy;
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ __type: type, message });
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A request of our own to dynalite; it checks that a signature is present, not whose it is. */
function postJson(upstream: URL, agent: Agent, operation: string, payload: unknown): Promise<{ status: number; text: string }> {
  const body = JSON.stringify(payload);
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: 'POST',
        path: '/',
        agent,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(body),
          'x-amz-target': `${TARGET_PREFIX}${operation}`,
          'x-amz-date': amzDate,
          authorization: `AWS4-HMAC-SHA256 Credential=local/${amzDate.slice(0, 8)}/${LOCAL_REGION}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0`,
        },
      },
      (res) => {
        readBody(res).then((buffer) => resolve({ status: res.statusCode ?? 0, text: buffer.toString('utf8') }), reject);
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}
