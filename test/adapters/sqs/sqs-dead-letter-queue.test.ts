import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitBody, SqsDeadLetterQueue } from '../../../src/adapters/sqs/sqs-dead-letter-queue.js';
import { UnavailableError } from '../../../src/domain/errors.js';
import type { DeadLetter } from '../../../src/ports/dead-letter.js';
import { startWireSink, type WireSink } from '../wire-sink.js';

let sink: WireSink;
let sqs: SQSClient;
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/000000000000/ingest-dlq';

beforeAll(async () => {
  sink = await startWireSink();
  sqs = new SQSClient({ endpoint: sink.url, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' }, maxAttempts: 1, md5: false });
});
afterAll(async () => {
  sqs.destroy();
  await sink.close();
});

const letter = (n: number, payload = Buffer.from(`{"n":${n}`).toString('base64')): DeadLetter => ({
  source: 'ingest',
  reason: 'INVALID_JSON',
  detail: 'payload is not JSON',
  thingName: 'dev',
  payload,
  payloadBytes: Buffer.from(payload, 'base64').byteLength,
  deadLetteredAt: '2026-11-26T12:00:00.000Z',
});
type Entry = { Id: string; MessageBody: string };

describe('SqsDeadLetterQueue', () => {
  it('sends letters as JSON in SendMessageBatch calls of at most 10, retrying failed entries', async () => {
    // Prepare
    sink.requests.length = 0;
    sink.respond = (request, index) => {
      const entries = request.body.Entries as Entry[];
      return {
        status: 200,
        body: {
          Successful: entries.filter((e) => index !== 0 || e.Id !== '3').map((e) => ({ Id: e.Id, MessageId: `m${e.Id}`, MD5OfMessageBody: '' })),
          Failed: index === 0 ? [{ Id: '3', Code: 'InternalError', SenderFault: false }] : [],
        },
      };
    };
    const letters = Array.from({ length: 23 }, (_, i) => letter(i));

    // Act
    await new SqsDeadLetterQueue(sqs, QUEUE).send(letters);

    // Assess
    expect(sink.requests.map((r) => (r.body.Entries as Entry[]).length)).toEqual([10, 1, 10, 3]);
    expect(sink.requests.every((r) => r.headers['x-amz-target'] === 'AmazonSQS.SendMessageBatch' && r.body.QueueUrl === QUEUE)).toBe(true);
    expect(JSON.parse((sink.requests[1]!.body.Entries as Entry[])[0]!.MessageBody)).toEqual(letters[3]);
  });

  it('throws UnavailableError when the queue keeps refusing', async () => {
    sink.respond = (request) => ({
      status: 200,
      body: { Successful: [], Failed: (request.body.Entries as Entry[]).map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })) },
    });
    await expect(new SqsDeadLetterQueue(sqs, QUEUE).send([letter(1)])).rejects.toBeInstanceOf(UnavailableError);
  });

  it('truncates an oversized payload to whole base64 quanta and says so', () => {
    // Prepare
    const big = letter(1, Buffer.alloc(300 * 1024, 7).toString('base64'));

    // Act
    const body = fitBody(big, 240 * 1024);

    // Assess
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(240 * 1024);
    const parsed = JSON.parse(body) as DeadLetter;
    expect(parsed).toMatchObject({ payloadTruncated: true, payloadBytes: 300 * 1024, reason: 'INVALID_JSON' });
    expect(parsed.payload.length % 4).toBe(0);
    expect(Buffer.from(parsed.payload, 'base64').every((b) => b === 7)).toBe(true);
  });
});
