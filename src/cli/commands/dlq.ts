/**
 * `iotctl dlq list|show|redrive`: the ingest dead letters. Locally they are the JSON-lines file
 * under the data directory; `--target aws` reads the IngestDeadLetterQueueUrl SQS queue. A
 * redrive sends the selected letters through the ingest handler again, over the platform's
 * tables (locally through the DynamoDB endpoint of `iotctl local`, so the change feed sees the
 * writes): each is stored, or dead-lettered again with its reason, and the originals go away.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createDocumentClient } from '../../adapters/dynamodb/client.js';
import { DynamoDbDeviceStateWriter } from '../../adapters/dynamodb/device-state-writer.js';
import { InMemoryDeadLetterQueue } from '../../adapters/sqs/in-memory-dead-letter-queue.js';
import { SqsDeadLetterQueue } from '../../adapters/sqs/sqs-dead-letter-queue.js';
import { DynamoDbTelemetryStore } from '../../adapters/telemetry/dynamodb-telemetry-store.js';
import { redriveLetters, type RedriveSummary } from '../../devices/dead-letter-redrive.js';
import { createIngestHandler, type IngestBatchSummary } from '../../devices/ingest-handler.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames } from '../../local/dynamodb/dynalite.js';
import { deadLetterFile } from '../../local/iot-core/local-iot-core.js';
import { LOCAL_TABLE_PREFIX } from '../../local/platform.js';
import type { DeadLetter, DeadLetterQueue } from '../../ports/dead-letter.js';
import { reportingErrors, stderrLines, stdoutLines, type LineWriter } from '../output.js';
import { DEFAULT_LOCAL_ENDPOINT } from './device.js';

interface DlqOptions {
  readonly target: 'local' | 'aws';
  readonly dataDir: string;
  readonly endpoint: string;
  readonly queueUrl?: string;
  readonly devicesTable?: string;
  readonly telemetryTable?: string;
  readonly reason?: string;
  readonly thing?: string;
}

/** A letter and where it lives (an SQS receipt handle in AWS). */
interface Held {
  readonly letter: DeadLetter;
  readonly receipt?: string;
}

/** The SQS calls the AWS target makes (the SQS client, or a test's recorder). */
export type SqsSender = Pick<SQSClient, 'send'>;

/** The line `redriven N = stored N + dead-lettered again N`, plus what was left. */
export function formatRedrive(summary: RedriveSummary): string {
  const extra = [summary.failed > 0 && `${summary.failed} failed (kept, retry later)`, summary.skipped > 0 && `${summary.skipped} skipped (no device message)`].filter(Boolean);
  return `redriven ${summary.redriven} = stored ${summary.stored} + dead-lettered again ${summary.deadLetteredAgain}${extra.length > 0 ? `; ${extra.join(', ')}` : ''}`;
}

/** Adds `iotctl dlq`. */
export function register(program: Command, write: LineWriter = stdoutLines, writeError: LineWriter = stderrLines, sqsClient?: () => SqsSender): void {
  const dlq = program.command('dlq').description('ingest dead letters: list, show, redrive');
  const common = (command: Command) =>
    command
      .addOption(new Option('--target <target>', 'which platform').choices(['local', 'aws']).default('local'))
      .option('--data-dir <dir>', 'local: data directory of `iotctl local`', '.local')
      .option('--endpoint <url>', 'local: DynamoDB endpoint of `iotctl local` (env IOT_DYNAMODB_ENDPOINT)', process.env.IOT_DYNAMODB_ENDPOINT ?? DEFAULT_LOCAL_ENDPOINT)
      .option('--queue-url <url>', 'aws: the IngestDeadLetterQueueUrl stack output (env INGEST_DEAD_LETTER_QUEUE_URL)', process.env.INGEST_DEAD_LETTER_QUEUE_URL)
      .option('--reason <reason>', 'only letters with this reason, e.g. UNKNOWN_DEVICE')
      .option('--thing <name>', 'only letters of this thing');
  const newSqs = sqsClient ?? (() => new SQSClient({}));

  const select = (held: Held[], options: DlqOptions) =>
    held.filter(({ letter }) => (!options.reason || letter.reason === options.reason) && (!options.thing || letter.thingName === options.thing));

  const load = async (options: DlqOptions, sqs?: SqsSender): Promise<Held[]> => {
    if (options.target === 'local') return (await readLocal(localFile(options))).map((letter) => ({ letter }));
    if (!options.queueUrl) throw new InvalidArgumentError('--target aws needs --queue-url (the IngestDeadLetterQueueUrl stack output)');
    return receiveAll(sqs!, options.queueUrl);
  };

  common(dlq.command('list').description('one line per letter: number, reason, thing, sequence number, when'))
    .action(
      reportingErrors('dlq list', writeError, async (options: DlqOptions) => {
        const sqs = options.target === 'aws' ? newSqs() : undefined;
        const held = select(await load(options, sqs), options);
        held.forEach(({ letter }, i) => write(`${i + 1}\t${letter.reason}\t${letter.thingName ?? '-'}\t${letter.sequenceNumber ?? '-'}\t${letter.deadLetteredAt}`));
        const byReason = new Map<string, number>();
        for (const { letter } of held) byReason.set(letter.reason, (byReason.get(letter.reason) ?? 0) + 1);
        write(`${held.length} letter(s)${byReason.size > 0 ? `: ${[...byReason].map(([r, n]) => `${r} ${n}`).join(', ')}` : ''}`);
      }),
    );

  common(dlq.command('show <number>').description('one letter (numbered as `dlq list` numbers them) with its payload decoded'))
    .action(
      reportingErrors('dlq show', writeError, async (number: string, options: DlqOptions) => {
        const sqs = options.target === 'aws' ? newSqs() : undefined;
        const held = select(await load(options, sqs), options);
        const index = Number(number) - 1;
        const found = Number.isInteger(index) ? held[index] : undefined;
        if (!found) throw new InvalidArgumentError(`no letter number ${number}: there are ${held.length}`);
        const payload = Buffer.from(found.letter.payload, 'base64').toString('utf8');
        write(JSON.stringify({ ...found.letter, payload }, null, 2));
      }),
    );

  common(dlq.command('redrive').description('re-validate and store the selected letters; prints redriven N = stored N + dead-lettered again N'))
    .option('--devices-table <name>', 'aws: the DevicesTableName stack output (env DEVICES_TABLE_NAME)', process.env.DEVICES_TABLE_NAME)
    .option('--telemetry-table <name>', 'aws: the TelemetryTableName stack output (env TELEMETRY_TABLE_NAME)', process.env.TELEMETRY_TABLE_NAME)
    .action(
      reportingErrors('dlq redrive', writeError, async (options: DlqOptions) => {
        let tables: { devices: string; telemetry: string };
        let doc: ReturnType<typeof createDocumentClient>;
        const sqs = options.target === 'aws' ? newSqs() : undefined;
        if (options.target === 'local') {
          const names = localTableNames(LOCAL_TABLE_PREFIX);
          tables = { devices: names.Devices!, telemetry: names.Telemetry! };
          doc = createDocumentClient({ endpoint: options.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 3 });
        } else {
          if (!options.devicesTable || !options.telemetryTable || !options.queueUrl) {
            throw new InvalidArgumentError('--target aws needs --queue-url, --devices-table and --telemetry-table (stack outputs IngestDeadLetterQueueUrl, DevicesTableName, TelemetryTableName)');
          }
          tables = { devices: options.devicesTable, telemetry: options.telemetryTable };
          doc = createDocumentClient({});
        }
        try {
          const all = await load(options, sqs);
          const chosen = select(all, options);
          // Locally the letters dead-lettered again are collected and written back with the rest;
          // in AWS they go to the queue as new messages and the originals are deleted.
          const again: DeadLetterQueue = options.target === 'local' ? new InMemoryDeadLetterQueue() : new SqsDeadLetterQueue(sqs as SQSClient, options.queueUrl!);
          const summaries: { last?: IngestBatchSummary } = {};
          const handler = createIngestHandler({
            devices: new DynamoDbDeviceStateWriter(doc, tables.devices),
            telemetry: new DynamoDbTelemetryStore(doc, tables.telemetry),
            deadLetters: again,
            observer: { batch: (summary) => (summaries.last = summary) },
          });
          const { summary, settled } = await redriveLetters(
            chosen.map((h) => h.letter),
            handler,
            summaries,
          );
          const done = new Set(chosen.filter((_, i) => settled[i]));
          if (options.target === 'local') {
            const kept = all.filter((h) => !done.has(h)).map((h) => h.letter);
            await writeLocal(localFile(options), [...kept, ...(again as InMemoryDeadLetterQueue).letters]);
          } else {
            await deleteAll(sqs!, options.queueUrl!, [...done].map((h) => h.receipt!));
          }
          write(formatRedrive(summary));
          if (summary.failed > 0) process.exitCode = 1;
        } finally {
          doc.destroy();
        }
      }),
    );
}

function localFile(options: DlqOptions): string {
  return deadLetterFile(resolve(options.dataDir));
}

async function readLocal(path: string): Promise<DeadLetter[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const seen = new Set<string>();
  const letters: DeadLetter[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const letter = JSON.parse(line) as DeadLetter;
    // One letter per stream record, whatever an older file holds.
    if (letter.sequenceNumber && seen.has(letter.sequenceNumber)) continue;
    if (letter.sequenceNumber) seen.add(letter.sequenceNumber);
    letters.push(letter);
  }
  return letters;
}

/** Replaces the file at once (write beside it, then rename), so a reader never sees half of it. */
async function writeLocal(path: string, letters: readonly DeadLetter[]): Promise<void> {
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeFile(temporary, letters.map((l) => `${JSON.stringify(l)}\n`).join(''), 'utf8');
  await rename(temporary, path);
}

/** Every message of the queue, each received once (hidden for 5 minutes while this runs). */
async function receiveAll(sqs: SqsSender, queueUrl: string): Promise<Held[]> {
  const held: Held[] = [];
  for (;;) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300, WaitTimeSeconds: 1 }));
    if (!Messages || Messages.length === 0) return held;
    for (const message of Messages) held.push({ letter: JSON.parse(message.Body ?? '{}') as DeadLetter, receipt: message.ReceiptHandle! });
  }
}

async function deleteAll(sqs: SqsSender, queueUrl: string, receipts: readonly string[]): Promise<void> {
  for (let i = 0; i < receipts.length; i += 10) {
    const entries = receipts.slice(i, i + 10).map((ReceiptHandle, j) => ({ Id: String(i + j), ReceiptHandle }));
    const { Failed } = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if (Failed && Failed.length > 0) throw new Error(`SQS kept ${Failed.length} redriven letter(s): they will be redriven again (stored once)`);
  }
}
