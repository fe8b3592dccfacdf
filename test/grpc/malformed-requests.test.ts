import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceChange } from '../../src/domain/device-change.js';
import { DeviceServiceClient } from '../../src/grpc/proto.js';
import { MAX_RECEIVE_MESSAGE_BYTES } from '../../src/grpc/server.js';
import { call, channelCredentials, newClient, startTestServer, type TestServer } from './helpers.js';

const SERVICE = '/iot.device.v1.DeviceService/';
const UNARY = ['CreateDevice', 'GetDevice', 'ListDevices', 'UpdateDevice', 'DeleteDevice', 'GetDeviceStats'] as const;
type Method = (typeof UNARY)[number] | 'WatchDevices';
const identity = (b: Buffer): Buffer => b;

/** A client that sends raw bytes: what a broken or hostile peer can put on the wire. */
function rawClient(address: string) {
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  for (const name of [...UNARY, 'WatchDevices'] as Method[]) {
    definition[name] = {
      path: `${SERVICE}${name}`,
      requestStream: false,
      responseStream: name === 'WatchDevices',
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
  }
  const Ctor = grpc.makeGenericClientConstructor(definition as grpc.ServiceDefinition, 'Raw');
  const client = new Ctor(address, channelCredentials());
  const send = (method: Method, bytes: Uint8Array, metadata = new grpc.Metadata()): Promise<number> =>
    new Promise((resolve) => {
      const options = { deadline: Date.now() + 10_000 };
      if (method === 'WatchDevices') {
        const stream = (client as unknown as Record<string, (...a: unknown[]) => grpc.ClientReadableStream<Buffer>>)[method]!(Buffer.from(bytes), metadata, options);
        stream.on('data', () => undefined);
        stream.on('error', () => undefined);
        stream.on('status', (s: grpc.StatusObject) => resolve(s.code));
      } else {
        (client as unknown as Record<string, (...a: unknown[]) => void>)[method]!(Buffer.from(bytes), metadata, options, (e: grpc.ServiceError | null) =>
          resolve(e ? e.code : grpc.status.OK),
        );
      }
    });
  return { send, close: () => client.close() };
}

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const w = () => protobuf.Writer.create();
const tag = (field: number, wireType: number) => (field << 3) | wireType;

interface Case {
  readonly what: string;
  readonly method: Method;
  readonly bytes: Uint8Array;
  readonly metadata?: grpc.Metadata;
}

function malformedCases(random: () => number): Case[] {
  const cases: Case[] = [];
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const invalidUtf8 = () => Uint8Array.from([0x61, 0xc3, 0x28, 0xff, 0xfe, ...bytes(int(8))].map((b, i) => (i < 5 ? b : b | 0x80)));
  // Every decodable message of these methods fails validation, so any bytes must be refused.
  const anyBytes: Method[] = ['CreateDevice', 'GetDevice', 'UpdateDevice', 'DeleteDevice'];

  // 1. Random bytes.
  for (let i = 0; i < 600; i++) cases.push({ what: 'random bytes', method: anyBytes[i % 4]!, bytes: bytes(int(96)) });

  // 2. Wrong wire types for known fields, and wire types that do not exist in proto3.
  const wrongWire: [Method, Uint8Array][] = [];
  for (let i = 0; i < 25; i++) {
    const v = int(1_000_000);
    wrongWire.push(
      ['GetDevice', w().uint32(tag(1, 0)).uint32(v).finish()],
      ['GetDevice', w().uint32(tag(1, 5)).fixed32(v).finish()],
      ['DeleteDevice', w().uint32(tag(2, 2)).bytes(bytes(int(8))).finish()],
      ['ListDevices', w().uint32(tag(1, 2)).bytes(bytes(int(8))).finish()],
      ['ListDevices', w().uint32(tag(2, 0)).uint32(v).finish()],
      ['ListDevices', w().uint32(tag(3, 1)).fixed64(v).finish()],
      ['CreateDevice', w().uint32(tag(1, 0)).uint32(v).finish()],
      ['UpdateDevice', w().uint32(tag(2, 5)).fixed32(v).finish()],
      ['WatchDevices', w().uint32(tag(1, 1)).fixed64(v).finish()],
      ['GetDeviceStats', w().uint32(tag(1 + int(9), [3, 4, 6, 7][int(4)]!)).finish()],
    );
  }
  for (const [method, b] of wrongWire) cases.push({ what: 'wrong wire type', method, bytes: b });

  // 3. Strings that are not UTF-8, and lengths that overrun the message.
  for (let i = 0; i < 50; i++) {
    cases.push({ what: 'invalid UTF-8', method: (['GetDevice', 'DeleteDevice', 'WatchDevices', 'ListDevices'] as Method[])[i % 4]!, bytes: w().uint32(tag(i % 4 === 3 ? 2 : 1, 2)).bytes(invalidUtf8()).finish() });
    cases.push({ what: 'overrunning length', method: 'GetDevice', bytes: Uint8Array.from([tag(1, 2), 50 + int(50), ...bytes(int(20))]) });
  }

  // 4. Huge, negative or out-of-range page sizes (well-formed bytes).
  for (let i = 0; i < 100; i++) {
    const size = i % 2 ? 101 + int(2_147_483_000) : -1 - int(2_147_483_000);
    cases.push({ what: 'bad page_size', method: 'ListDevices', bytes: w().uint32(tag(1, 0)).int32(size).finish() });
  }

  // 5. Invalid ids (well-formed bytes).
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-_ /\\\'"%$\u00e9\u4e2d';
  for (let i = 0; i < 100; i++) {
    const id = Array.from({ length: int(60) }, () => alphabet[int(alphabet.length)]).join('');
    const method = (['GetDevice', 'DeleteDevice', 'WatchDevices'] as Method[])[i % 3]!;
    cases.push({ what: 'invalid id', method, bytes: w().uint32(tag(1, 2)).string(id || 'x').finish() });
  }

  // 6. Oversized call metadata (headers) on otherwise valid requests.
  for (let i = 0; i < 40; i++) {
    const metadata = new grpc.Metadata();
    metadata.set('x-filler', 'm'.repeat(9_000 + int(50_000)));
    cases.push({ what: 'oversized metadata', method: (['GetDeviceStats', 'ListDevices', 'WatchDevices'] as Method[])[i % 3]!, bytes: new Uint8Array(0), metadata });
  }

  // 7. Device.metadata far beyond its rules (<= 50 entries, keys <= 128, values <= 1,024 chars),
  //    up to the 10 MB the issue names, in CreateDevice and UpdateDevice.
  for (const [what, metadata] of Object.entries(hugeDeviceMetadata())) {
    cases.push({ what: `Device.metadata ${what}`, method: 'CreateDevice', bytes: encodeCreate(metadata) });
    cases.push({ what: `Device.metadata ${what}`, method: 'UpdateDevice', bytes: encodeUpdate(ANY_ID, metadata) });
  }
  return cases;
}

const TEN_MB = 10 * 1024 * 1024;
const ANY_ID = '123e4567-e89b-42d3-a456-426614174000';

/** Device.metadata maps that break a rule by orders of magnitude. */
function hugeDeviceMetadata(): Record<string, Record<string, string>> {
  const many: Record<string, string> = {};
  for (let i = 0; i < 100_000; i++) many[`k${i}`] = 'v';
  return {
    'with a 10 MB value': { big: 'v'.repeat(TEN_MB) },
    'with 100,000 entries': many,
    'with a 1 MB key': { ['k'.repeat(1024 * 1024)]: 'v' },
  };
}

function encodeCreate(metadata: Record<string, string>): Uint8Array {
  return DeviceServiceClient.service.CreateDevice.requestSerialize({ device: { name: 'sensor', type: 'thermo', metadata } });
}

function encodeUpdate(id: string, metadata: Record<string, string>): Uint8Array {
  return DeviceServiceClient.service.UpdateDevice.requestSerialize({ device: { id, metadata }, updateMask: { paths: ['metadata'] } });
}

describe('malformed requests', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers INVALID_ARGUMENT to every one of more than 1,000 malformed requests and keeps serving', async () => {
    // Prepare
    t = await startTestServer();
    const raw = rawClient(t.server.address);
    const cases = malformedCases(prng(20261126));
    expect(cases.length).toBeGreaterThanOrEqual(1_000);

    // Act
    const codes: number[] = [];
    for (let i = 0; i < cases.length; i += 64) {
      const batch = cases.slice(i, i + 64);
      codes.push(...(await Promise.all(batch.map((c) => raw.send(c.method, c.bytes, c.metadata)))));
    }
    raw.close();

    // Assess
    const wrong = cases.map((c, i) => ({ ...c, code: codes[i] })).filter((c) => c.code !== grpc.status.INVALID_ARGUMENT);
    expect(wrong.map((c) => `${c.what} ${c.method} ${Buffer.from(c.bytes).toString('hex')} -> ${grpc.status[c.code!]}`)).toEqual([]);
    const stats = await call(t.client, 'getDeviceStats', {});
    expect(stats.error).toBeNull();
    expect(stats.response?.total).toBe('0');
    expect(t.logs.filter((l) => l.code === 'INTERNAL')).toEqual([]);
  });

  it('refuses a Device.metadata of 10 MB, of 100,000 entries or with a 1 MB key with INVALID_ARGUMENT naming the rule, writes nothing and keeps serving', async () => {
    // Prepare
    t = await startTestServer();
    const created = await call(t.client, 'createDevice', { device: { name: 'kept', type: 'thermo', metadata: { site: 'a' } } });
    const id = created.response!.id;
    const changes: DeviceChange[] = [];
    t.changes.subscribe((change) => changes.push(change));
    const huge = hugeDeviceMetadata();
    const expected: Record<string, RegExp> = {
      'with a 10 MB value': /^device\.metadata value of "big" must be at most 1024 characters, got 10485760 bytes$/,
      'with 100,000 entries': /^device\.metadata must have at most 50 entries, got more than 50$/,
      'with a 1 MB key': /^device\.metadata keys must be at most 128 characters, got 1048576 bytes$/,
    };

    // Act
    const answers: { what: string; code?: number; details?: string }[] = [];
    for (const [what, metadata] of Object.entries(huge)) {
      const create = await call(t.client, 'createDevice', { device: { name: 'sensor', type: 'thermo', metadata } });
      const update = await call(t.client, 'updateDevice', { device: { id, metadata }, updateMask: { paths: ['metadata'] } });
      answers.push({ what: `create ${what}`, code: create.error?.code, details: create.error?.details });
      answers.push({ what: `update ${what}`, code: update.error?.code, details: update.error?.details });
    }
    const stats = await call(t.client, 'getDeviceStats', {});
    const kept = await call(t.client, 'getDevice', { id });

    // Assess
    for (const answer of answers) {
      expect(answer, answer.what).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(expected[answer.what.replace(/^\w+ /, '')]!) });
    }
    expect(stats.response?.total).toBe('1');
    expect(kept.response).toMatchObject({ version: '1', metadata: { site: 'a' } });
    expect(changes).toEqual([]);
    expect(t.logs.filter((l) => l.code === 'INTERNAL')).toEqual([]);
  });

  it('names the metadata rule a request breaks by a little, counting characters rather than bytes, and accepts the largest valid metadata', async () => {
    // Prepare
    t = await startTestServer();
    const emoji = '\u{1F600}'; // one character, four UTF-8 bytes
    const largest: Record<string, string> = {};
    for (let i = 0; i < 50; i++) largest[`${i}`.padStart(3, '0') + emoji.repeat(125)] = emoji.repeat(1024);
    const fiftyOne: Record<string, string> = {};
    for (let i = 0; i < 51; i++) fiftyOne[`k${i}`] = 'v';
    const device = (metadata: Record<string, string>) => ({ device: { name: 'sensor', type: 'thermo', metadata } });

    // Act
    const valid = await call(t.client, 'createDevice', device(largest));
    const tooMany = await call(t.client, 'createDevice', device(fiftyOne));
    const longValue = await call(t.client, 'createDevice', device({ k: '\u00e9'.repeat(1025) }));
    const longKey = await call(t.client, 'createDevice', device({ ['x'.repeat(129)]: 'v' }));
    const stats = await call(t.client, 'getDeviceStats', {});

    // Assess
    expect(valid.error).toBeNull();
    expect(Object.keys(valid.response!.metadata)).toHaveLength(50);
    expect(tooMany.error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'device.metadata must have at most 50 entries, got more than 50' });
    expect(longValue.error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'device.metadata value of "k" must be at most 1024 characters, got 1025' });
    expect(longKey.error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'device.metadata keys must be at most 128 characters, got 129' });
    expect(stats.response?.total).toBe('1');
  });

  it('refuses a request above the documented transport bound with RESOURCE_EXHAUSTED before any handler, and keeps serving', async () => {
    // Prepare
    t = await startTestServer();
    const tooLarge = { device: { name: 'sensor', type: 'thermo', metadata: { big: 'v'.repeat(MAX_RECEIVE_MESSAGE_BYTES) } } };

    // Act
    const refused = await call(t.client, 'createDevice', tooLarge);
    const after = await call(t.client, 'getDeviceStats', {});

    // Assess
    expect(TEN_MB).toBeLessThan(MAX_RECEIVE_MESSAGE_BYTES);
    expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(after.response?.total).toBe('0');
    expect(t.logs.filter((l) => l.method === 'CreateDevice')).toEqual([]);
  });

  it('survives 10 MB of call metadata (HTTP/2 headers), which the HTTP/2 layer refuses before any handler, and keeps serving other clients', async () => {
    // Prepare
    t = await startTestServer();
    const hostile = newClient(t.server.address);
    const metadata = new grpc.Metadata();
    metadata.set('x-huge', 'h'.repeat(10 * 1024 * 1024));

    // Act
    const refused = await call(hostile, 'getDeviceStats', {}, { deadline: Date.now() + 2_000 }, metadata);
    hostile.close();
    const fresh = newClient(t.server.address);
    const after = await call(fresh, 'getDevice', { id: '123e4567-e89b-42d3-a456-426614174000' });
    fresh.close();

    // Assess
    expect(refused.error?.code).not.toBe(grpc.status.OK);
    expect(refused.error?.code).toBeDefined();
    expect(after.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(t.logs.filter((l) => l.method === 'GetDeviceStats')).toEqual([]);
  });
});
