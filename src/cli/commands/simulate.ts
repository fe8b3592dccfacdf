/**
 * `iotctl simulate`: a fleet of simulated devices. It provisions (or reuses) N devices,
 * connects each with its own certificate over mutual TLS (MQTT.js), publishes realistic
 * telemetry at QoS 1 at R messages per second per device for S seconds, and reports sent,
 * acknowledged, failed and the publish-to-ack latency. Locally it then reads the telemetry
 * store and the dead-letter file back and prints one accounting of every sent message:
 * sent = stored + dead-lettered + failed (failed = never acknowledged), "exact" only when the
 * counts read back make that hold, and a non-zero exit otherwise. With `--commands` the devices
 * also answer commands and report the desired state they are sent, a driver sends both during
 * the run, and a second accounting covers every command: sent = succeeded + failed + rejected +
 * timed out, held against what the devices decided.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { IoTClient } from '@aws-sdk/client-iot';
import { Presets, SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createDocumentClient } from '../../adapters/dynamodb/client.js';
import { DynamoDbDeviceCredentialStore } from '../../adapters/dynamodb/device-credentials-store.js';
import { DynamoDbDeviceRepository } from '../../adapters/dynamodb/device-repository.js';
import { DynamoDbStatsStore } from '../../adapters/dynamodb/stats-store.js';
import { DynamoDbTelemetryStore } from '../../adapters/telemetry/dynamodb-telemetry-store.js';
import { DeviceRegistry } from '../../domain/device-registry.js';
import { createPageTokenCodec } from '../../domain/page-token.js';
import type { DeadLetter } from '../../ports/dead-letter.js';
import type { TelemetryReader } from '../../ports/telemetry-store.js';
import { randomSecret } from '../../local/data-dir.js';
import { MAX_POINTS_PER_MESSAGE } from '../../devices/telemetry-message.js';
import { deadLetterFile } from '../../local/iot-core/local-iot-core.js';
import { DEFAULT_PORTS } from '../../local/platform.js';
import { provisionAwsDevices } from '../../provisioning/aws-provisioner.js';
import { readDeviceBundle, type DeviceBundle } from '../../provisioning/device-bundle.js';
import { DEFAULT_GRAPHQL_URL } from '../graphql-client.js';
import { reportingErrors, stderrLines, stdoutLines, type LineWriter } from '../output.js';
import { DEFAULT_RECONNECT_POLICY, DeviceLink, type ReconnectPolicy } from '../simulator/device-link.js';
import { commandAccountingLine, settleCommands, startCommandDriver, waitOnline, type CommandCounts, type CommandDriver } from '../simulator/command-driver.js';
import { attachResponder, DEFAULT_COMMAND_BEHAVIOUR, ResponderTally, type CommandBehaviour } from '../simulator/command-responder.js';
import { graphqlCommandApi } from '../simulator/graphql-command-api.js';
import { connectLocalRegistry, createLocalDevices, DEFAULT_LOCAL_ENDPOINT, summaryLines } from './device.js';

/** What a run measured. */
export interface SimulationResult {
  readonly devices: number;
  readonly connected: number;
  readonly sent: number;
  readonly acknowledged: number;
  /** Sent but never acknowledged: always sent - acknowledged. */
  readonly failed: number;
  /** Planned messages never published (device did not connect, or the run fell behind its end). */
  readonly notSent: number;
  /** Of the sent messages, how many were deliberately invalid (with several points: had one bad point). */
  readonly invalid: number;
  /** Publish-to-PUBACK latencies in ms, ascending. */
  readonly latenciesMs: readonly number[];
  /** Epoch ms range of the `ts` of the readings sent. */
  readonly fromTs: number;
  readonly toTs: number;
  /** Readings per message (1: schema v1). */
  readonly pointsPerMessage: number;
  /** Connections dropped and made again during the run. */
  readonly reconnects: number;
  /** Devices whose link gave up (their unacknowledged messages failed). */
  readonly lostDevices: number;
}

/** Options of {@link simulateFleet}. */
export interface FleetOptions {
  readonly bundles: readonly DeviceBundle[];
  /** Messages per second per device. */
  readonly rate: number;
  readonly durationSeconds: number;
  /** Percentage (0-100) of messages made invalid on purpose, to exercise the dead-letter path. */
  readonly invalidPercent?: number;
  /** Called about twice a second. */
  readonly onProgress?: (progress: { sent: number; acknowledged: number; failed: number; connected: number }) => void;
  /** Concurrent TLS handshakes while connecting. @default 20 */
  readonly connectConcurrency?: number;
  /** @default Math.random */
  readonly random?: () => number;
  /** How a device rides out a broker outage. @default DEFAULT_RECONNECT_POLICY */
  readonly reconnect?: ReconnectPolicy;
  /** MQTT version of the devices: 4 (3.1.1) or 5. @default 4 */
  readonly protocolVersion?: 4 | 5;
  /**
   * Devices answer commands and report desired state; `start` is called with the connected
   * device ids before publishing begins, and its `finish` after publishing ends, before the
   * devices disconnect (so commands still under way can be answered).
   */
  readonly commands?: {
    readonly behaviour: CommandBehaviour;
    readonly tally: ResponderTally;
    start(deviceIds: string[]): Promise<{ finish(): Promise<void> }>;
  };
  /**
   * Readings per message: 1 sends schema v1; more sends schema v2 with that many points, taken
   * evenly over the message interval (an invalid message then has one bad point). @default 1
   */
  readonly pointsPerMessage?: number;
}

/** One device's realistic sensor state: slow random walks, a draining battery, an occasional door event. */
class SensorModel {
  private temperature: number;
  private humidity: number;
  private battery: number;
  constructor(private readonly random: () => number) {
    this.temperature = 18 + random() * 6;
    this.humidity = 35 + random() * 20;
    this.battery = 80 + random() * 20;
  }
  next(): Record<string, number | boolean | string> {
    this.temperature += (this.random() - 0.5) * 0.2;
    this.humidity = Math.min(100, Math.max(0, this.humidity + (this.random() - 0.5) * 0.5));
    this.battery = Math.max(0, this.battery - 0.001);
    return {
      temperature: Math.round(this.temperature * 100) / 100,
      humidity: Math.round(this.humidity * 10) / 10,
      battery: Math.round(this.battery * 1000) / 1000,
      doorOpen: this.random() < 0.02,
      mode: this.temperature < 19 ? 'heating' : 'idle',
    };
  }
}

/** A metric every valid simulated reading carries; the accounting counts readings by it. */
const SIMULATED_METRIC = 'temperature';

/** Payloads the ingest validator must refuse, one of each kind in turn. */
const INVALID_PAYLOADS: ReadonlyArray<(ts: number, seq: number) => string> = [
  () => '{"v":1,"ts":',
  (ts, seq) => `{"v":1,"ts":${ts},"seq":${seq},"metrics":{"temperature":NaN}}`,
  (ts, seq) => JSON.stringify({ v: 1, ts, seq }),
  (ts, seq) => JSON.stringify({ v: 1, ts, seq, metrics: { temperature: { nested: true } } }),
  (ts, seq) => JSON.stringify({ v: 1, ts: ts + 3_600_000, seq, metrics: { temperature: 20 } }),
];

/** Resolves when `promise` settles or after `ms`, whichever is first; the timer holds the process open meanwhile. */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Runs the fleet: connect, publish at the rate for the duration, wait for outstanding acks, disconnect. */
export async function simulateFleet(options: FleetOptions): Promise<SimulationResult> {
  const random = options.random ?? Math.random;
  const invalidPercent = options.invalidPercent ?? 0;
  const counters = { sent: 0, acknowledged: 0, failed: 0, notSent: 0, invalid: 0, connected: 0, reconnects: 0, lostDevices: 0 };
  const latencies: number[] = [];
  const clients: Array<{ link: DeviceLink; bundle: DeviceBundle }> = [];
  const policy = options.reconnect ?? DEFAULT_RECONNECT_POLICY;

  // Connect with bounded concurrency: 2 cores cannot do hundreds of handshakes at once.
  const queue = [...options.bundles];
  const concurrency = options.connectConcurrency ?? 20;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let bundle = queue.shift(); bundle; bundle = queue.shift()) {
        const commands = options.commands;
        const link = new DeviceLink(
          {
            url: `mqtts://${bundle.manifest.endpoint}:${bundle.manifest.port}`,
            protocolVersion: options.protocolVersion ?? 4,
            clientId: bundle.manifest.thingName,
            cert: bundle.certificatePem,
            ...(bundle.privateKeyPem && { key: bundle.privateKeyPem }),
            ca: bundle.caCertificatePem,
          },
          policy,
          {
            onReconnect: () => (counters.reconnects += 1),
            onGiveUp: () => (counters.lostDevices += 1),
            // As a device listens for commands, on every connection (a clean session keeps no subscription).
            setup: commands
              ? (client) => attachResponder(client, bundle, { behaviour: commands.behaviour, tally: commands.tally, random })
              : async (client) => void (await client.subscribeAsync(bundle.manifest.topics.commands, { qos: 1 })),
          },
          random,
        );
        try {
          await link.open();
          clients.push({ link, bundle });
          counters.connected += 1;
        } catch {
          // Counted below: no message of an unconnected device is sent.
        }
      }
    }),
  );

  // Before the publishing window opens: waiting for the devices to show ONLINE must not eat into it.
  const driver = await options.commands?.start(clients.map(({ bundle }) => bundle.manifest.thingName));
  const startTs = Date.now();
  let lastTs = startTs;
  // Points of a v2 message reach back over the interval before it was sent.
  let firstTs = startTs;
  const pointsPerMessage = options.pointsPerMessage ?? 1;
  if (!Number.isInteger(pointsPerMessage) || pointsPerMessage < 1 || pointsPerMessage > MAX_POINTS_PER_MESSAGE) {
    throw new Error(`pointsPerMessage must be an integer from 1 to ${MAX_POINTS_PER_MESSAGE}, got ${pointsPerMessage}`);
  }
  const intervalMs = 1000 / options.rate;
  const endAt = performance.now() + options.durationSeconds * 1000;
  // A device that fell behind its schedule (the simulator shares the CPU with whatever it is
  // testing) may still send its planned messages for a while after the window; only what is still
  // unsent past this grace counts as not sent.
  const graceMs = Math.max(1000, options.durationSeconds * 50);
  const perDevice = Math.floor(options.rate * options.durationSeconds);
  const unconnected = options.bundles.length - clients.length;
  counters.notSent += unconnected * perDevice;
  const outstanding = new Set<Promise<void>>();
  const progress = setInterval(() => options.onProgress?.({ ...counters }), 500);

  await Promise.all(
    clients.map(async ({ link, bundle }) => {
      const model = new SensorModel(random);
      // Sequence numbers start at the run's start time, so a reused device never repeats one.
      let seq = startTs;
      const topic = bundle.manifest.topics.telemetry;
      // Spread the devices over the first interval instead of publishing in lockstep.
      let due = performance.now() + random() * intervalMs;
      for (let i = 0; i < perDevice; i += 1) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (performance.now() > endAt + Math.max(intervalMs, graceMs)) {
          counters.notSent += perDevice - i;
          break;
        }
        due += intervalMs;
        const ts = Date.now();
        lastTs = Math.max(lastTs, ts);
        const invalid = random() * 100 < invalidPercent;
        let payload: string;
        if (pointsPerMessage === 1) {
          seq += 1;
          payload = invalid ? INVALID_PAYLOADS[counters.invalid % INVALID_PAYLOADS.length]!(ts, seq) : JSON.stringify({ v: 1, ts, seq, metrics: model.next() });
        } else {
          const points = Array.from({ length: pointsPerMessage }, (_, k) => {
            seq += 1;
            // Points are back-dated across the interval, but never before the run started: the
            // accounting reads this run's readings by time, and an earlier run of the same devices
            // ended just before it.
            const at = Math.max(startTs, ts - Math.round(((pointsPerMessage - 1 - k) * intervalMs) / pointsPerMessage));
            firstTs = Math.min(firstTs, at);
            // The first point of an invalid message is refused alone; the others are stored.
            return invalid && k === 0 ? { ts: at, seq, metrics: { temperature: { nested: true } } } : { ts: at, seq, metrics: model.next() };
          });
          payload = JSON.stringify({ v: 2, points });
        }
        if (invalid) counters.invalid += 1;
        counters.sent += 1;
        const started = performance.now();
        const publish = link.publish(topic, payload).then(
          () => {
            counters.acknowledged += 1;
            latencies.push(performance.now() - started);
          },
          () => {
            counters.failed += 1;
          },
        );
        outstanding.add(publish);
        void publish.finally(() => outstanding.delete(publish));
      }
    }),
  );
  // Outstanding QoS 1 publishes get a bounded time to be acknowledged: 30 s, plus the longest
  // outage a link rides out (a link that gives up fails its messages, which settles them). The
  // timer keeps the process alive: with the broker gone no socket does, and an unref'd timer let
  // Node exit with the top-level await unsettled (exit 13, no accounting).
  await settleWithin(Promise.all([...outstanding]), 30_000 + policy.maxOutageMs);
  clearInterval(progress);
  if (driver) {
    await driver.finish();
    await options.commands!.tally.settled();
  }
  // Closing fails what is still unacknowledged; a broker that went away gets 5 s to say goodbye.
  await Promise.all(clients.map(({ link }) => link.close(5_000)));
  await Promise.all([...outstanding]);
  options.onProgress?.({ ...counters });
  latencies.sort((a, b) => a - b);
  return {
    devices: options.bundles.length,
    connected: counters.connected,
    sent: counters.sent,
    acknowledged: counters.acknowledged,
    failed: counters.failed,
    notSent: counters.notSent,
    invalid: counters.invalid,
    latenciesMs: latencies,
    fromTs: firstTs,
    toTs: lastTs,
    pointsPerMessage,
    reconnects: counters.reconnects,
    lostDevices: counters.lostDevices,
  };
}

/** The p-th percentile (0-100) of ascending values (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Readings the telemetry store holds for these devices with `ts` in [fromTs, toTs], counted
 * through the store's own query (every simulated reading carries `temperature`), so the count
 * does not depend on how the store lays out its items.
 */
export async function countStoredReadings(
  store: TelemetryReader,
  deviceIds: readonly string[],
  fromTs: number,
  toTs: number,
): Promise<number> {
  let total = 0;
  for (const deviceId of deviceIds) {
    let cursor: string | undefined;
    do {
      const page = await store.query({ deviceId, metric: SIMULATED_METRIC, from: fromTs, to: toTs + 1, limit: 1000, ...(cursor && { cursor }) });
      total += page.items.length;
      cursor = page.nextCursor;
    } while (cursor);
  }
  return total;
}

/** Size of the dead-letter file now: letters of a run are those appended after it. */
export async function deadLetterOffset(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** Ingest dead letters of these devices appended to the JSON-lines file after byte `offset`. */
export async function countDeadLetters(file: string, deviceIds: ReadonlySet<string>, offset: number): Promise<number> {
  let text: string;
  try {
    text = (await readFile(file)).subarray(offset).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  let count = 0;
  // The last line may still be being written: only complete lines count.
  for (const line of text.split('\n').slice(0, -1)) {
    if (!line) continue;
    const letter = JSON.parse(line) as DeadLetter;
    const device = letter.thingName ?? letter.clientId;
    // A message resent after a reconnect can meet its first delivery in one batch: that copy is
    // refused as a duplicate while the reading itself is stored, so it is no lost message.
    if (letter.reason === 'DUPLICATE_SEQUENCE') continue;
    if (letter.source === 'ingest' && device && deviceIds.has(device)) count += 1;
  }
  return count;
}

interface SimulateCommandOptions {
  devices: number;
  rate: number;
  duration: number;
  target: 'local' | 'aws';
  out: string;
  type: string;
  invalidPercent: number;
  pointsPerMessage: number;
  drainTimeout: number;
  endpoint: string;
  dataDir: string;
  mqttHost: string;
  mqttPort: number;
  policyName?: string;
  devicesTable?: string;
  statsTable?: string;
  caFile?: string;
  mqttVersion: '3.1.1' | '5';
  commands?: boolean;
  commandRate: number;
  desiredRate: number;
  commandSuccess: number;
  commandFailure: number;
  commandReject: number;
  commandLatency: number;
  commandTimeout: number;
  graphqlUrl: string;
  token?: string;
  reconnectAttempts: number;
  reconnectTimeout: number;
  reconnectMaxDelay: number;
}

/** The commands part of a run: its driver while the fleet publishes, then its accounting lines. */
function commandRun(options: SimulateCommandOptions) {
  const behaviour: CommandBehaviour = {
    successPercent: options.commandSuccess,
    failurePercent: options.commandFailure,
    rejectPercent: options.commandReject,
    latencyMs: options.commandLatency,
  };
  if (behaviour.successPercent + behaviour.failurePercent + behaviour.rejectPercent > 100) {
    throw new Error('--command-success, --command-failure and --command-reject add up to more than 100 (the rest of the commands go unanswered)');
  }
  const api = graphqlCommandApi({ url: options.graphqlUrl, ...(options.token && { token: options.token }), dataDir: options.dataDir, user: 'simulator' });
  const tally = new ResponderTally();
  let driver: CommandDriver | undefined;
  let counts: CommandCounts | undefined;
  let inSync = 0;
  return {
    behaviour,
    tally,
    async start(deviceIds: string[]) {
      // Commands go to devices the registry shows ONLINE, as an operator would see them.
      const offline = await waitOnline(api, deviceIds, Date.now() + options.drainTimeout * 1000);
      driver = startCommandDriver({ api, deviceIds: deviceIds.filter((id) => !offline.includes(id)), commandRate: options.commandRate, desiredRate: options.desiredRate, timeoutSeconds: options.commandTimeout });
      const running = driver;
      return {
        async finish() {
          await running.stop();
          // A silent device's command times out timeoutSeconds after delivery: give the sweep that long and more.
          counts = await settleCommands(api, running.sent, Date.now() + (options.commandTimeout + options.drainTimeout) * 1000);
          const deadline = Date.now() + options.drainTimeout * 1000;
          for (const pending = new Set(running.patched); ; ) {
            for (const id of pending) if (await api.inSync(id)) pending.delete(id);
            inSync = running.patched.size - pending.size;
            if (pending.size === 0 || Date.now() > deadline) break;
            await new Promise((r) => setTimeout(r, 500));
          }
        },
      };
    },
    /** The accounting lines, and whether both hold exactly. */
    report(): { lines: string[]; exact: boolean } {
      if (!driver || !counts) return { lines: ['commands: no device connected, none sent'], exact: false };
      const accounting = commandAccountingLine(counts, tally.decisions, driver.sent);
      const twinExact = inSync === driver.patched.size && tally.publishFailures === 0;
      return {
        lines: [
          accounting.line,
          ...(driver.sendErrors > 0 ? [`commands and patches the API refused: ${driver.sendErrors}`] : []),
          `twin: desired updates ${driver.desiredUpdates} to ${driver.patched.size} device(s), reported back by ${inSync} of ${driver.patched.size}${twinExact ? ' (exact)' : ''}`,
        ],
        exact: accounting.exact && twinExact && driver.sendErrors === 0,
      };
    },
  };
}

const positiveInt = (max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`use an integer from 1 to ${max}`);
  return n;
};
const positiveNumber = (max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`use a number above 0, at most ${max}`);
  return n;
};
const nonNegative = (max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new InvalidArgumentError(`use a number from 0 to ${max}`);
  return n;
};
const percent = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError('use a percentage from 0 to 100');
  return n;
};

/** Adds `simulate` to `program`; `write` receives the report lines. */
export function register(
  program: Command,
  write: LineWriter = stdoutLines,
  writeError: LineWriter = stderrLines,
): void {
  program
    .command('simulate')
    .description('run a fleet of simulated devices over mutual TLS and report delivery, latency and (local) the stored/dead-lettered accounting')
    .requiredOption('--devices <n>', 'number of devices (provisioned on first use, reused afterwards)', positiveInt(10_000))
    // IoT Core allows 100 publishes per second per connection.
    .requiredOption('--rate <r>', 'messages per second per device (at most 100)', positiveNumber(100))
    .requiredOption('--duration <s>', 'seconds of publishing', positiveInt(86_400))
    .addOption(new Option('--target <target>', 'where the devices connect').choices(['local', 'aws']).default('local'))
    .option('--out <dir>', 'where device bundles are kept between runs (default <data-dir>/simulator)')
    .option('--type <type>', 'device type of provisioned devices', 'simulated')
    .option('--invalid-percent <p>', 'share of deliberately invalid messages (exercises the dead-letter path)', percent, 0)
    .option('--points-per-message <n>', `readings per message: 1 sends schema v1, 2-${MAX_POINTS_PER_MESSAGE} schema v2`, positiveInt(MAX_POINTS_PER_MESSAGE), 1)
    .option('--drain-timeout <s>', 'local: how long to wait for the pipeline to store everything', positiveInt(3_600), 300)
    .option('--endpoint <url>', 'local: DynamoDB endpoint of `iotctl local` (env IOT_DYNAMODB_ENDPOINT)', process.env.IOT_DYNAMODB_ENDPOINT ?? DEFAULT_LOCAL_ENDPOINT)
    .option('--data-dir <dir>', 'local: data directory of `iotctl local`', '.local')
    .option('--mqtt-host <host>', 'local: broker host', '127.0.0.1')
    .option('--mqtt-port <port>', 'local: broker port', positiveInt(65_535), DEFAULT_PORTS.mqtt)
    .option('--policy-name <name>', 'aws: the DevicePolicyName stack output (env IOT_DEVICE_POLICY_NAME)', process.env.IOT_DEVICE_POLICY_NAME)
    .option('--devices-table <name>', 'aws: the DevicesTableName stack output (env DEVICES_TABLE_NAME)', process.env.DEVICES_TABLE_NAME)
    .option('--stats-table <name>', 'aws: the StatsTableName stack output (env STATS_TABLE_NAME)', process.env.STATS_TABLE_NAME)
    .option('--ca-file <file>', 'aws: root CA file (default: downloaded from Amazon Trust Services)')
    .option('--reconnect-attempts <n>', 'connection attempts per outage before a device gives up', positiveInt(1_000), DEFAULT_RECONNECT_POLICY.attempts)
    .option('--reconnect-timeout <s>', 'longest outage a device rides out, in seconds', positiveInt(3_600), DEFAULT_RECONNECT_POLICY.maxOutageMs / 1000)
    .option('--reconnect-max-delay <s>', 'highest backoff between attempts, in seconds (full jitter below it)', positiveNumber(600), DEFAULT_RECONNECT_POLICY.maxDelayMs / 1000)
    .addOption(new Option('--mqtt-version <version>', 'MQTT version of the devices').choices(['3.1.1', '5']).default('3.1.1'))
    .option('--commands', 'devices answer commands and report desired state; a driver sends both during the run and the accounting covers every command')
    .option('--command-rate <r>', 'commands per second across the fleet', positiveNumber(1_000), 2)
    .option('--desired-rate <r>', 'desired-state patches per second across the fleet', nonNegative(1_000), 1)
    .option('--command-success <p>', 'share of commands a device answers SUCCEEDED', percent, DEFAULT_COMMAND_BEHAVIOUR.successPercent)
    .option('--command-failure <p>', 'share answered FAILED', percent, DEFAULT_COMMAND_BEHAVIOUR.failurePercent)
    .option('--command-reject <p>', 'share answered REJECTED (the rest go unanswered and time out)', percent, DEFAULT_COMMAND_BEHAVIOUR.rejectPercent)
    .option('--command-latency <ms>', 'mean time a device takes to answer (each answer 0.5x-1.5x)', nonNegative(600_000), DEFAULT_COMMAND_BEHAVIOUR.latencyMs)
    .option('--command-timeout <s>', 'timeoutSeconds of each command', positiveInt(86_400), 5)
    .option('--graphql-url <url>', 'GraphQL endpoint the driver sends through (env IOT_GRAPHQL_URL)', DEFAULT_GRAPHQL_URL)
    .option('--token <token>', 'API token for the driver (Cognito in AWS); minted from --data-dir when absent')
    .action(reportingErrors('simulate', writeError, (options: SimulateCommandOptions) => runSimulation(options, write)));
}

async function runSimulation(options: SimulateCommandOptions, write: (line: string) => void): Promise<void> {
  const out = resolve(options.out ?? join(options.dataDir, options.target === 'local' ? 'simulator' : 'simulator-aws'));
  // Always <out>/sim-<i>, so runs with different --devices reuse the same first devices.
  const targets = Array.from({ length: options.devices }, (_, i) => ({ name: `sim-${i + 1}`, dir: join(out, `sim-${i + 1}`) }));
  const local = options.target === 'local' ? connectLocalRegistry(options.endpoint) : undefined;
  try {
    // 1. Provision or reuse.
    write(`provisioning ${options.devices} device(s) in ${out}`);
    if (local) {
      const flat = [];
      for (const t of targets) {
        flat.push(
          ...(await createLocalDevices(local, {
            name: t.name,
            type: options.type,
            count: 1,
            out: t.dir,
            dataDir: options.dataDir,
            mqttHost: options.mqttHost,
            mqttPort: options.mqttPort,
          })),
        );
      }
      for (const line of summaryLines(flat).slice(0, 4)) write(`  ${line}`);
      if (flat.some((r) => r.status === 'failed')) throw new Error('provisioning failed; see above');
    } else {
      if (!options.policyName || !options.devicesTable) throw new Error('--target aws needs --policy-name and --devices-table (stack outputs)');
      const doc = createDocumentClient({});
      const iot = new IoTClient({});
      try {
        const summary = await provisionAwsDevices(
          {
            iot,
            registry: new DeviceRegistry({
              repository: new DynamoDbDeviceRepository(doc, options.devicesTable),
              stats: new DynamoDbStatsStore(doc, options.statsTable ?? options.devicesTable),
              pageTokens: createPageTokenCodec(randomSecret()),
            }),
            credentials: new DynamoDbDeviceCredentialStore(doc, options.devicesTable),
            policyName: options.policyName,
            stateFile: join(out, '.provisioning-state.json'),
            rootCa: async () => {
              if (options.caFile) return readFile(options.caFile, 'utf8');
              const response = await fetch('https://www.amazontrust.com/repository/AmazonRootCA1.pem');
              if (!response.ok) throw new Error(`cannot download the Amazon root CA (HTTP ${response.status}); pass --ca-file`);
              return response.text();
            },
          },
          targets.map((t) => ({ ...t, type: options.type })),
        );
        for (const line of summaryLines(summary.results).slice(0, 4)) write(`  ${line}`);
        if (summary.failed > 0) throw new Error('provisioning failed; see above');
      } finally {
        iot.destroy();
        doc.destroy();
      }
    }
    const bundles = await Promise.all(targets.map((t) => readDeviceBundle(t.dir)));
    const commands = options.commands ? commandRun(options) : undefined;

    // 2. Publish (dead letters of earlier runs stay before this offset).
    const lettersFile = deadLetterFile(resolve(options.dataDir));
    const lettersOffset = await deadLetterOffset(lettersFile);
    const total = Math.floor(options.rate * options.duration) * options.devices;
    const perMessage = options.pointsPerMessage;
    write(`publishing ${options.rate}/s per device for ${options.duration} s: ${total} messages at QoS 1${perMessage > 1 ? ` of ${perMessage} readings (schema v2)` : ''}`);
    const bar = new SingleBar(
      { format: 'sent {value}/{total} [{bar}] | acked {acked} | failed {failed} | connected {connected}', stream: process.stderr },
      Presets.shades_classic,
    );
    bar.start(total, 0, { acked: 0, failed: 0, connected: 0 });
    const result = await simulateFleet({
      bundles,
      rate: options.rate,
      durationSeconds: options.duration,
      invalidPercent: options.invalidPercent,
      pointsPerMessage: perMessage,
      protocolVersion: options.mqttVersion === '5' ? 5 : 4,
      reconnect: {
        attempts: options.reconnectAttempts,
        maxOutageMs: options.reconnectTimeout * 1000,
        baseDelayMs: DEFAULT_RECONNECT_POLICY.baseDelayMs,
        maxDelayMs: options.reconnectMaxDelay * 1000,
      },
      ...(commands && { commands }),
      onProgress: (p) => bar.update(p.sent, { acked: p.acknowledged, failed: p.failed, connected: p.connected }),
    });
    bar.stop();
    for (const line of reportLines(result)) write(line);
    if (commands) {
      const report = commands.report();
      for (const line of report.lines) write(line);
      if (!report.exact) process.exitCode = 1;
    }
    if (!local) {
      write('accounting: read the stored and dead-lettered counts from the telemetry store and the DLQ in AWS');
      return;
    }

    // 3. Account for every reading of every sent message (local); a bad point is dead-lettered alone.
    const ids = bundles.map((b) => b.manifest.thingName);
    const idSet = new Set(ids);

    const deadline = Date.now() + options.drainTimeout * 1000;
    const store = new DynamoDbTelemetryStore(local.doc, local.tables.telemetry);
    let stored = 0;
    let deadLettered = 0;
    for (;;) {
      try {
        stored = await countStoredReadings(store, ids, result.fromTs, result.toTs);
        deadLettered = await countDeadLetters(lettersFile, idSet, lettersOffset);
      } catch (error) {
        // The platform is gone: still account for what this side knows, and fail.
        write(`accounting: sent ${result.sent * perMessage}, failed ${result.failed * perMessage}; stored and dead-lettered unknown: ${(error as Error).message}`);
        process.exitCode = 1;
        return;
      }
      if (stored + deadLettered + result.failed * perMessage >= result.sent * perMessage || Date.now() > deadline) break;
      process.stderr.write(`waiting for the pipeline: stored ${stored} + dead-lettered ${deadLettered} + failed ${result.failed * perMessage} of sent ${result.sent * perMessage}\r`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
    process.stderr.write('\n');
    const accounting = accountingLine({ sent: result.sent * perMessage, failed: result.failed * perMessage, stored, deadLettered });
    write(accounting.line);
    if (!accounting.exact || result.failed > 0) process.exitCode = 1;
  } finally {
    local?.close();
  }
}

/**
 * The one accounting of a local run, always on the basis of every sent message. A failed
 * (unacknowledged) message may still have been stored or dead-lettered, so it is not assumed
 * lost: "exact" only when the counts read back from the stores make the equation hold.
 */
export function accountingLine(counts: { sent: number; failed: number; stored: number; deadLettered: number }): { line: string; exact: boolean } {
  const { sent, failed, stored, deadLettered } = counts;
  const exact = stored + deadLettered + failed === sent;
  return {
    line: `accounting: sent ${sent} ${exact ? '=' : '≠'} stored ${stored} + dead-lettered ${deadLettered} + failed ${failed}${exact ? ' (exact)' : ''}`,
    exact,
  };
}

/** The summary lines of a run. */
export function reportLines(result: SimulationResult): string[] {
  const fmt = (ms: number) => (Number.isNaN(ms) ? 'n/a' : `${ms.toFixed(1)} ms`);
  return [
    `devices ${result.devices} (connected ${result.connected})`,
    `sent ${result.sent}, acknowledged ${result.acknowledged}, failed ${result.failed} (invalid on purpose ${result.invalid})`,
    ...(result.notSent > 0 ? [`not sent ${result.notSent} (devices not connected or behind schedule at the end)`] : []),
    ...(result.reconnects > 0 || result.lostDevices > 0
      ? [`reconnected ${result.reconnects} time(s)${result.lostDevices > 0 ? `; ${result.lostDevices} device(s) gave up reconnecting (their unacknowledged messages failed)` : ''}`]
      : []),
    `publish-to-ack latency p50 ${fmt(percentile(result.latenciesMs, 50))}, p99 ${fmt(percentile(result.latenciesMs, 99))}`,
  ];
}
