/**
 * npm run bench:commands — dollars per million commands delivered and answered, and per million
 * twin updates, from counted requests.
 *
 * The real command and twin services and the real device control handler run against the
 * Commands, Twins and Devices tables in dynalite; every DynamoDB request asks for its consumed
 * capacity (what on-demand bills), summed by a client middleware, and every publish to a device
 * goes through a DeviceMessenger that counts IoT messages in 5 KB units. Around them, each
 * request the cloud adds is counted where it happens: the GraphQL resolver Lambda and the AppSync
 * operation of each API call, the rule triggered and the Lambda action of each device message,
 * the device's PUBACK, and the change feed's fan-out of each command or device change. Lambda
 * duration is the handler's median wall time in this run (dynalite standing in for DynamoDB) at
 * the functions' 256 MB.
 *
 * Scenario: an ONLINE device gets a command, answers IN_PROGRESS and then SUCCEEDED; a desired
 * patch reaches an ONLINE device as a delta, which it reports back; commands to OFFLINE devices
 * meet their re-drive check in a sweep 30 s later. Beside the platform's
 * figures, the same run prints the bare MQTT messages of the exchange (the floor any design
 * pays) and what AWS IoT Device Shadow would bill for the same twin updates, at list prices.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { DynamoDbDeviceRepository } from '../src/adapters/dynamodb/device-repository.js';
import { createDeviceControlServices } from '../src/adapters/device-control-services.js';
import { DynamoDbCommandRepository } from '../src/adapters/dynamodb/command-repository.js';
import { RegistryDevicePresence } from '../src/adapters/registry-device-presence.js';
import { CommandService, DEFAULT_REDRIVE_AFTER_MS } from '../src/commands/command-service.js';
import { InMemoryDeadLetterQueue } from '../src/adapters/sqs/in-memory-dead-letter-queue.js';
import { COMMANDS_TABLE, DEVICES_TABLE, TWINS_TABLE } from '../src/contracts/tables.js';
import { commandResponseTopic, stateTopic } from '../src/contracts/topics.js';
import { createDeviceControlHandler } from '../src/devices/device-control-handler.js';
import { createPageTokenCodec } from '../src/domain/page-token.js';
import { ensureTables, localTableNames, startDynalite } from '../src/local/dynamodb/dynalite.js';
import type { DeviceMessage, DeviceMessenger } from '../src/ports/device-messenger.js';
import { capacityCountingClient, emptyCapacityTally, type CapacityTally } from './capacity-counting-client.js';
import { PRICES } from './prices.js';

const { values: args } = parseArgs({ options: { devices: { type: 'string', default: '100' }, commands: { type: 'string', default: '1000' }, updates: { type: 'string', default: '1000' } } });
const DEVICES = Number(args.devices);
const COMMANDS = Number(args.commands);
const UPDATES = Number(args.updates);
/** The functions' memory (PlatformFunction's default). */
const LAMBDA_GB = 0.25;
/** Subscribers of the internal change topics: the two gRPC tasks (WatchCommands, WatchDevices). */
const GRPC_TASKS = 2;
/** For the fixed cost of the one-minute timeout sweep: a fleet of 10,000 devices sending 10 commands a day each. */
const COMMANDS_PER_MONTH = 10_000 * 10 * 30;
const SWEEPS_PER_MONTH = 60 * 24 * 30;
const FIVE_KB = 5 * 1024;

interface Counts extends CapacityTally {
  /** IoT messages in 5 KB units (inbound, outbound and device PUBACKs). */
  iotMessages: number;
  rulesTriggered: number;
  actionsExecuted: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  appSyncOperations: number;
}

const fresh = (): Counts => ({ ...emptyCapacityTally(), iotMessages: 0, rulesTriggered: 0, actionsExecuted: 0, lambdaInvocations: 0, lambdaGbSeconds: 0, appSyncOperations: 0 });
const units5k = (bytes: number) => Math.max(1, Math.ceil(bytes / FIVE_KB));

function dollars(c: Counts): number {
  return (
    c.readUnits * PRICES.dynamoReadUnit.usd +
    c.writeUnits * PRICES.dynamoWriteUnit.usd +
    c.iotMessages * PRICES.iotMessage.usd +
    c.rulesTriggered * PRICES.iotRuleTriggered.usd +
    c.actionsExecuted * PRICES.iotActionExecuted.usd +
    c.lambdaInvocations * PRICES.lambdaRequest.usd +
    c.lambdaGbSeconds * PRICES.lambdaArmGbSecond.usd +
    c.appSyncOperations * PRICES.appSyncOperation.usd
  );
}

/** The change feed's fan-out of one change: an events invocation (worst case, one per record), the AppSync mutation, the IoT publish and its deliveries to the gRPC tasks. */
function fanOut(c: Counts, changeBytes: number, eventsMs: number) {
  c.lambdaInvocations += 1;
  c.lambdaGbSeconds += (eventsMs / 1000) * LAMBDA_GB;
  c.appSyncOperations += 1;
  c.iotMessages += (1 + GRPC_TASKS) * units5k(changeBytes);
}

async function main(): Promise<void> {
  const dynamo = await startDynalite();
  const tables = [DEVICES_TABLE, COMMANDS_TABLE, TWINS_TABLE];
  const names = localTableNames('bench-', tables);
  await ensureTables(dynamo.endpoint, names, tables);
  let current = fresh();
  const doc = capacityCountingClient(dynamo.endpoint, () => current);
  const devices = new DynamoDbDeviceRepository(doc, names.Devices!);

  // Every message to a device: the data-plane Publish (its body, in 5 KB units) and its delivery (topic + payload + MQTT 5 properties).
  const delivered: DeviceMessage[] = [];
  const messenger: DeviceMessenger = {
    async send(message) {
      const body = Buffer.byteLength(message.payload);
      const properties = Buffer.byteLength(message.responseTopic ?? '') + Buffer.byteLength(message.correlationData ?? '') + 'application/json'.length;
      current.iotMessages += units5k(body) + units5k(body + Buffer.byteLength(message.topic) + properties);
      // The device acknowledges the QoS 1 delivery: IoT meters a device's PUBACK (MQTT 3.1.1) as one message.
      current.iotMessages += 1;
      delivered.push(message);
    },
  };
  const { commands, twins } = createDeviceControlServices({ doc, tables: { devices: names.Devices!, commands: names.Commands!, twins: names.Twins! }, messenger, pageTokens: createPageTokenCodec(randomUUID()) });
  const handler = createDeviceControlHandler({ commands, twins, deadLetters: new InMemoryDeadLetterQueue() });

  const ids: string[] = [];
  const at = new Date().toISOString();
  for (let i = 0; i < DEVICES; i += 1) {
    const id = randomUUID();
    ids.push(id);
    await devices.create({ id, name: `valve ${i}`, type: 'valve', status: 'ONLINE', createdAt: at, updatedAt: at, metadata: {}, version: 1, readings: {}, lastSeen: at });
  }

  const resolverMs: number[] = [];
  const controlMs: number[] = [];
  const timed = async <T>(into: number[], work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      into.push(performance.now() - started);
    }
  };
  /** A device message through its rule to the device control Lambda, as IoT would route it. */
  const fromDevice = async (kind: 'response' | 'state', thingName: string, topic: string, body: unknown) => {
    const payload = Buffer.from(JSON.stringify(body));
    current.iotMessages += units5k(payload.byteLength + Buffer.byteLength(topic));
    current.rulesTriggered += 1;
    current.actionsExecuted += 1;
    current.lambdaInvocations += 1;
    const result = await timed(controlMs, () => handler({ kind, thingName, clientId: thingName, receivedAt: Date.now(), payload: payload.toString('base64') }));
    if (result === 'dead-lettered') throw new Error(`the handler refused a ${kind} message`);
  };

  // 1. Commands: send, deliver, IN_PROGRESS, SUCCEEDED.
  const commandCounts = fresh();
  current = commandCounts;
  let transitions = 0;
  let changeBytes = 0;
  for (let n = 0; n < COMMANDS; n += 1) {
    const deviceId = ids[n % ids.length]!;
    commandCounts.lambdaInvocations += 1;
    commandCounts.appSyncOperations += 1;
    const command = await timed(resolverMs, () => commands.send({ deviceId, name: 'set-valve', payload: { open: n % 2 === 0, percent: n % 100 }, clientToken: `bench-${n}` }, 'bench'));
    await fromDevice('response', deviceId, commandResponseTopic(deviceId), { v: 1, id: command.id, status: 'IN_PROGRESS' });
    await fromDevice('response', deviceId, commandResponseTopic(deviceId), { v: 1, id: command.id, status: 'SUCCEEDED', result: { open: n % 2 === 0 } });
    transitions += 3;
    changeBytes += Buffer.byteLength(JSON.stringify(await commands.get(command.id)));
  }
  if (delivered.length !== COMMANDS) throw new Error(`expected ${COMMANDS} deliveries, counted ${delivered.length}`);
  const sweepCounts = fresh();
  current = sweepCounts;
  const sweepStarted = performance.now();
  await commands.sweep();
  const sweepMs = performance.now() - sweepStarted;

  // 2. Twin updates: desired patch → delta → the device reports it back.
  const twinCounts = fresh();
  current = twinCounts;
  delivered.length = 0;
  let deviceChanges = 0;
  for (let n = 0; n < UPDATES; n += 1) {
    const deviceId = ids[n % ids.length]!;
    twinCounts.lambdaInvocations += 1;
    twinCounts.appSyncOperations += 1;
    const patch = { setpoint: 18 + (n % 7), fan: n % 2 === 0 ? 'auto' : 'low' };
    await timed(resolverMs, () => twins.updateDesired({ deviceId, patch }));
    const delta = delivered.at(-1);
    if (!delta || !delta.topic.endsWith(`${deviceId}/delta`)) throw new Error('no delta reached the device');
    await fromDevice('state', deviceId, stateTopic(deviceId), { v: 1, reported: (JSON.parse(delta.payload) as { delta: unknown }).delta });
    // Each twin write raises twinVersion on the device item: one device change each.
    deviceChanges += 2;
  }
  const twin = await twins.get(ids[0]!);
  if (Object.keys(twin.delta).length !== 0) throw new Error('the twin did not converge');

  // 3. The re-drive check of commands to OFFLINE devices: each is looked at once, when its check
  // comes due (30 s after the send), and left for the device's next subscription.
  current = fresh();
  const offline: string[] = [];
  for (let i = 0; i < Math.min(DEVICES, 100); i += 1) {
    const id = randomUUID();
    offline.push(id);
    await devices.create({ id, name: `offline valve ${i}`, type: 'valve', status: 'OFFLINE', createdAt: at, updatedAt: at, metadata: {}, version: 1, readings: {} });
  }
  const parkedCommands = Math.min(COMMANDS, 500);
  for (let n = 0; n < parkedCommands; n += 1) await commands.send({ deviceId: offline[n % offline.length]!, name: 'set-valve', payload: { open: true } }, 'bench');
  const later = new CommandService({
    commands: new DynamoDbCommandRepository(doc, names.Commands!),
    presence: new RegistryDevicePresence(devices),
    messenger,
    pageTokens: createPageTokenCodec(randomUUID()),
    clock: () => new Date(Date.now() + DEFAULT_REDRIVE_AFTER_MS + 1000),
  });
  const redriveCounts = fresh();
  current = redriveCounts;
  const redriveStarted = performance.now();
  const redrive = await later.sweep();
  const redriveMs = performance.now() - redriveStarted;
  if (redrive.parked !== parkedCommands || redrive.redelivered !== 0) throw new Error(`the re-drive check parked ${redrive.parked} of ${parkedCommands} commands`);
  doc.destroy();
  await dynamo.stop();

  // 4. Lambda duration and the change fan-out, then dollars.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const resolverBilled = Math.ceil(median(resolverMs));
  const controlBilled = Math.ceil(median(controlMs));
  for (const [counts, invocations] of [
    [commandCounts, COMMANDS],
    [twinCounts, UPDATES],
  ] as const) {
    counts.lambdaGbSeconds += (invocations * resolverBilled + (counts.lambdaInvocations - invocations) * controlBilled) / 1000 * LAMBDA_GB;
  }
  for (let t = 0; t < transitions; t += 1) fanOut(commandCounts, changeBytes / transitions, controlBilled);
  for (let t = 0; t < deviceChanges; t += 1) fanOut(twinCounts, 1024, controlBilled);
  // The check runs inside the minute's sweep, which runs anyway: its reads, writes and time are what it adds.
  const redriveUsd = dollars(redriveCounts) + (redriveMs / 1000) * LAMBDA_GB * PRICES.lambdaArmGbSecond.usd;
  const sweepUsd = (sweepCounts.readUnits * PRICES.dynamoReadUnit.usd + PRICES.lambdaRequest.usd + (Math.ceil(sweepMs) / 1000) * LAMBDA_GB * PRICES.lambdaArmGbSecond.usd) * SWEEPS_PER_MONTH;

  const perMillion = (usd: number, n: number) => (usd / n) * 1e6;
  const usd = (x: number) => `$${x.toFixed(2)}`;
  const line = (label: string, value: string) => process.stdout.write(`  ${label.padEnd(64)} ${value}\n`);
  const show = (title: string, c: Counts, n: number) => {
    process.stdout.write(`\n${title} (per operation, counted over ${n}):\n`);
    line('DynamoDB requests', JSON.stringify(Object.fromEntries(Object.entries(c.requests).map(([k, v]) => [k, +(v / n).toFixed(2)]))));
    line('DynamoDB read / write units', `${(c.readUnits / n).toFixed(2)} RRU / ${(c.writeUnits / n).toFixed(2)} WRU`);
    line('IoT messages (5 KB units, PUBACKs included)', (c.iotMessages / n).toFixed(2));
    line('IoT rules triggered / actions executed', `${(c.rulesTriggered / n).toFixed(2)} / ${(c.actionsExecuted / n).toFixed(2)}`);
    line('Lambda invocations / GB-s', `${(c.lambdaInvocations / n).toFixed(2)} / ${(c.lambdaGbSeconds / n).toFixed(4)}`);
    line('AppSync operations', (c.appSyncOperations / n).toFixed(2));
  };
  process.stdout.write(`bench:commands — ${DEVICES} ONLINE devices, ${COMMANDS} commands, ${UPDATES} twin updates; Lambda billed at the median handler time of this run: resolver ${resolverBilled} ms, device control ${controlBilled} ms, 256 MB\n`);
  show('A command delivered and answered (IN_PROGRESS, SUCCEEDED), 3 transitions fanned out', commandCounts, COMMANDS);
  show('A twin update (desired patch, delta, report), 2 device changes fanned out', twinCounts, UPDATES);

  const commandUsd = perMillion(dollars(commandCounts), COMMANDS);
  const sweepPerMillion = (sweepUsd / COMMANDS_PER_MONTH) * 1e6;
  const twinUsd = perMillion(dollars(twinCounts), UPDATES);
  process.stdout.write('\nThis platform, per million:\n');
  line('commands delivered and answered', usd(commandUsd));
  line(`+ timeout sweep (${usd(sweepUsd)} a month; at ${COMMANDS_PER_MONTH.toLocaleString('en-US')} commands a month)`, usd(sweepPerMillion));
  line('+ EventBridge schedule of the sweep (scheduled rules are not charged)', usd(0));
  line('twin updates (desired patch reported back)', usd(twinUsd));
  const perCheck = (x: number) => (x / parkedCommands).toFixed(2);
  line(
    `+ re-drive check of a command to an OFFLINE device (${perCheck(redriveCounts.readUnits)} RRU, ${perCheck(redriveCounts.writeUnits)} WRU each, over ${parkedCommands})`,
    usd(perMillion(redriveUsd, parkedCommands)),
  );
  line('+ re-drive check of a delivered command (its check leaves with the claim write)', usd(0));

  // Baselines of the same exchanges, this run's sizes: the bare MQTT messages, and Device Shadow.
  const bareCommand = 2 /* command out and its PUBACK */ + 2 /* two answers */;
  const bareTwin = 2 /* delta out and its PUBACK */ + 1; /* the report */
  process.stdout.write('\nBaselines for the same exchanges, per million (same run, list prices):\n');
  line('bare MQTT messages of a command (deliver, PUBACK, 2 answers)', usd(bareCommand * PRICES.iotMessage.usd * 1e6));
  line('bare MQTT messages of a twin update (delta, PUBACK, report)', usd(bareTwin * PRICES.iotMessage.usd * 1e6));
  // The re-drive's alternative: find missed deliveries by reading every ONLINE device each minute.
  const scanReadUnits = 10_000 * SWEEPS_PER_MONTH * 0.5;
  line(
    `re-drive by reading 10,000 ONLINE devices a minute instead (${(scanReadUnits / 1e6).toFixed(0)}M RRU, ${usd(scanReadUnits * PRICES.dynamoReadUnit.usd)} a month)`,
    usd(((scanReadUnits * PRICES.dynamoReadUnit.usd) / COMMANDS_PER_MONTH) * 1e6),
  );
  // Shadow: UpdateThingShadow desired (1 op) + the device's reported update (1 op), each ≤ 1 KB here; the
  // delta to the device, its PUBACK, the device's update publish and the accepted reply are messages.
  const shadow = 2 * PRICES.deviceShadowOperation.usd + 4 * PRICES.iotMessage.usd;
  line('AWS IoT Device Shadow (2 operations + 4 messages per update)', usd(shadow * 1e6));
  line('source', `${PRICES.deviceShadowOperation.source}; ${PRICES.iotMessage.source}`);
}

await main();
