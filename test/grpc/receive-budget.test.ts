import { connect, type ClientHttp2Session } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { DEVICE_SERVICE_NAME } from '../../src/grpc/proto.js';
import { MAX_RECEIVE_MESSAGE_BYTES } from '../../src/grpc/server.js';
import { call, startTestServer, TOKENS, testAuth, waitFor, type TestServer } from './helpers.js';

const MISSING_ID = '88888888-8888-4888-8888-888888888888';

describe('server-wide receive budget', () => {
  let t: TestServer | undefined;
  let raw: ClientHttp2Session | undefined;
  afterEach(async () => {
    raw?.destroy();
    await t?.close();
    [t, raw] = [undefined, undefined];
  });

  /** A raw HTTP/2 call that announces a 10 MB request message and sends only its first KB. */
  function halfSentRequest(address: string) {
    raw = connect(`https://${address}`, { ca: testAuth.ca.caCertificatePem });
    raw.on('error', () => undefined);
    const stream = raw.request({ ':method': 'POST', ':path': `/${DEVICE_SERVICE_NAME}/UpdateDevice`, 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${TOKENS.admin}` });
    stream.on('error', () => undefined);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(10_000_000, 1);
    stream.write(Buffer.concat([prefix, Buffer.alloc(1024, 0x0a)]));
    return stream;
  }

  it('makes a call wait, unread, while a slow request holds the budget, and serves it once the budget frees', async () => {
    // Prepare: room for one 16 MiB request at a time.
    t = await startTestServer({ receiveBudgetBytes: MAX_RECEIVE_MESSAGE_BYTES });
    const slow = halfSentRequest(t.server.address);
    await waitFor(() => t!.server.receiveBudget.reservedBytes === MAX_RECEIVE_MESSAGE_BYTES, 'the slow request to hold the budget');

    // Act
    const answered = call(t.client, 'getDevice', { id: MISSING_ID }, { deadline: Date.now() + 10_000 });
    await waitFor(() => t!.server.receiveBudget.waiting === 1, 'the second call to wait');
    const logsWhileWaiting = t.logs.filter((l) => l.method === 'GetDevice').length;
    slow.close(0x8); // RST_STREAM CANCEL: the slow caller gives up
    const { error } = await answered;

    // Assess
    expect(logsWhileWaiting).toBe(0);
    expect(error?.code).toBe(grpc.status.NOT_FOUND);
    expect(t.server.receiveBudget).toMatchObject({ reservedBytes: 0, waiting: 0 });
  });

  it('gives back the reservation of every finished call, whatever its outcome', async () => {
    // Prepare
    t = await startTestServer({ receiveBudgetBytes: MAX_RECEIVE_MESSAGE_BYTES });

    // Act: sequential calls would deadlock on a leaked single slot.
    const codes: number[] = [];
    for (const id of [MISSING_ID, 'not-a-uuid', MISSING_ID]) codes.push((await call(t.client, 'getDevice', { id }, { deadline: Date.now() + 5_000 })).error!.code);
    const { response } = await call(t.client, 'createDevice', { device: { name: 'a', type: 'pump' } }, { deadline: Date.now() + 5_000 });

    // Assess
    expect(codes).toEqual([grpc.status.NOT_FOUND, grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND]);
    expect(response?.name).toBe('a');
    expect(t.server.receiveBudget).toMatchObject({ reservedBytes: 0, waiting: 0 });
  });

  it('ends a call that stalls while sending its request, freeing the budget for the next', async () => {
    // Prepare
    t = await startTestServer({ receiveBudgetBytes: MAX_RECEIVE_MESSAGE_BYTES, receiveTimeoutMs: 300 });
    const stalled = halfSentRequest(t.server.address);
    let trailers: Record<string, unknown> | undefined;
    stalled.on('trailers', (headers) => (trailers = headers));
    stalled.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) trailers = headers;
    });

    // Act
    const { error } = await call(t.client, 'getDevice', { id: MISSING_ID }, { deadline: Date.now() + 10_000 });
    await waitFor(() => trailers !== undefined, 'the stalled call to end');

    // Assess
    expect(error?.code).toBe(grpc.status.NOT_FOUND);
    expect(trailers).toMatchObject({ 'grpc-status': String(grpc.status.CANCELLED), 'grpc-message': encodeURIComponent('request not received within 300 ms') });
    expect(t.server.receiveBudget).toMatchObject({ reservedBytes: 0, waiting: 0 });
  });
});
