/**
 * `iotctl device create|rotate|revoke`: provisions devices (locally from the local CA into the local
 * platform's registry, or in AWS IoT Core), rotates their certificates and revokes them. The local platform may run in
 * another process: the registry is reached through its DynamoDB endpoint (the change-capture
 * proxy, so the change feed sees every write) and the CA through its data directory.
 */
import { access, readdir, readFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { IoTClient } from '@aws-sdk/client-iot';
import { SingleBar, Presets } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createDocumentClient } from '../../adapters/dynamodb/client.js';
import { DynamoDbDeviceCredentialStore } from '../../adapters/dynamodb/device-credentials-store.js';
import { DynamoDbDeviceRepository } from '../../adapters/dynamodb/device-repository.js';
import { DynamoDbStatsStore } from '../../adapters/dynamodb/stats-store.js';
import { DeviceRegistry } from '../../domain/device-registry.js';
import { isDomainError } from '../../domain/errors.js';
import { createPageTokenCodec } from '../../domain/page-token.js';
import { openLocalCa } from '../../local/iot-core/ca.js';
import { randomSecret } from '../../local/data-dir.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames } from '../../local/dynamodb/dynalite.js';
import { DEFAULT_PORTS, LOCAL_TABLE_PREFIX } from '../../local/platform.js';
import { provisionAwsDevices, revokeAwsDevice, type DeviceResult } from '../../provisioning/aws-provisioner.js';
import { parseCertificateRequest } from '../../provisioning/certificate-request.js';
import { readDeviceBundle, writeDeviceBundle } from '../../provisioning/device-bundle.js';
import { provisionLocalDevice, revokeLocalDevice, type ProvisioningRegistry } from '../../provisioning/local-provisioner.js';
import {
  DEFAULT_ROTATION_GRACE_MS,
  finishAwsRotation,
  finishLocalRotation,
  rotateAwsDevice,
  rotateLocalDevice,
  type RotationFinished,
  type RotationStarted,
} from '../../provisioning/certificate-rotation.js';
import { admits, type DeviceCredentialStore } from '../../ports/device-credentials.js';
import { reportingErrors, stderrLines, stdoutLines, type LineWriter } from '../output.js';

/** Default DynamoDB endpoint of a local platform started with `iotctl local`. */
export const DEFAULT_LOCAL_ENDPOINT = `http://127.0.0.1:${DEFAULT_PORTS.dynamodb}`;
/** Where Amazon publishes the root CA that IoT Core's ATS endpoints chain to. */
const AMAZON_ROOT_CA_URL = 'https://www.amazontrust.com/repository/AmazonRootCA1.pem';

/** A registry over a local platform's DynamoDB endpoint. */
export interface LocalRegistryConnection {
  readonly registry: DeviceRegistry;
  readonly credentials: DeviceCredentialStore;
  readonly doc: ReturnType<typeof createDocumentClient>;
  readonly tables: { devices: string; stats: string; telemetry: string };
  close(): void;
}

/** Connects to the registry of a local platform (possibly in another process) through its DynamoDB endpoint. */
export function connectLocalRegistry(endpoint: string): LocalRegistryConnection {
  const doc = createDocumentClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 3 });
  const names = localTableNames(LOCAL_TABLE_PREFIX);
  const tables = { devices: names.Devices!, stats: names.Stats!, telemetry: names.Telemetry! };
  // Page tokens are never handed out by this client, so any secret will do.
  const registry = new DeviceRegistry({
    repository: new DynamoDbDeviceRepository(doc, tables.devices),
    stats: new DynamoDbStatsStore(doc, tables.stats),
    pageTokens: createPageTokenCodec(randomSecret()),
  });
  return { registry, credentials: new DynamoDbDeviceCredentialStore(doc, tables.devices), doc, tables, close: () => doc.destroy() };
}

/** Options of {@link createLocalDevices}. */
export interface LocalCreateOptions {
  readonly name: string;
  readonly type: string;
  readonly count: number;
  readonly out: string;
  readonly dataDir: string;
  readonly mqttHost: string;
  readonly mqttPort: number;
  /** One device from this CSR (PEM file): the CA signs the device's own key. */
  readonly csr?: string;
  /** One device per `*.csr`/`*.pem` file of this directory, named `<name>-<file stem>`. */
  readonly csrDir?: string;
  readonly onDevice?: (result: DeviceResult) => void;
}

/** A device to provision: its name, bundle directory and, when it made its own key, its CSR file. */
export interface DeviceTarget {
  readonly name: string;
  readonly dir: string;
  readonly csrFile?: string;
}

/** Where each of `count` devices named after `name` gets its bundle. */
export function bundleTargets(name: string, count: number, out: string): DeviceTarget[] {
  if (count === 1) return [{ name, dir: out }];
  return Array.from({ length: count }, (_, i) => ({ name: `${name}-${i + 1}`, dir: join(out, `${name}-${i + 1}`) }));
}

/**
 * The devices of a create run: `--csr` makes one device from one CSR, `--csr-dir` one per CSR
 * file (sorted, so reruns visit them in the same order), otherwise `--count` devices.
 */
export async function createTargets(options: Pick<LocalCreateOptions, 'name' | 'count' | 'out' | 'csr' | 'csrDir'>): Promise<DeviceTarget[]> {
  if (options.csr !== undefined && options.csrDir !== undefined) throw new InvalidArgumentError('use --csr or --csr-dir, not both');
  if ((options.csr !== undefined || options.csrDir !== undefined) && options.count !== 1) {
    throw new InvalidArgumentError('--count does not combine with --csr/--csr-dir: each CSR is one device');
  }
  if (options.csr !== undefined) return [{ name: options.name, dir: options.out, csrFile: options.csr }];
  if (options.csrDir === undefined) return bundleTargets(options.name, options.count, options.out);
  const files = (await readdir(options.csrDir, { withFileTypes: true }))
    .filter((entry) => entry.isFile() && ['.csr', '.pem'].includes(extname(entry.name)))
    .map((entry) => entry.name)
    .sort();
  if (files.length === 0) throw new InvalidArgumentError(`${options.csrDir} holds no *.csr or *.pem file`);
  return files.map((file) => {
    const name = `${options.name}-${basename(file, extname(file))}`;
    return { name, dir: join(options.out, name), csrFile: join(options.csrDir!, file) };
  });
}

/**
 * Provisions devices locally; a bundle directory whose device is still registered with that
 * certificate is reused (unchanged), so re-running a bulk create completes what is missing.
 */
export async function createLocalDevices(
  { registry, credentials }: { registry: ProvisioningRegistry; credentials: DeviceCredentialStore },
  options: LocalCreateOptions,
): Promise<DeviceResult[]> {
  const ca = await openLocalCa(resolve(options.dataDir));
  const results: DeviceResult[] = [];
  for (const target of await createTargets(options)) {
    let result: DeviceResult;
    try {
      const existing = await reusableBundle(credentials, target.dir);
      if (existing) {
        result = { name: target.name, status: 'unchanged', thingName: existing };
      } else {
        // Checked before anything is registered: a refused CSR leaves no device behind.
        const csr = target.csrFile === undefined ? undefined : await parseCertificateRequest(await readFile(target.csrFile, 'utf8'), target.csrFile);
        const { device, bundle } = await provisionLocalDevice(
          { registry, credentials, ca, endpoint: { host: options.mqttHost, port: options.mqttPort } },
          { name: target.name, type: options.type, ...(csr && { csr }) },
        );
        await writeDeviceBundle(target.dir, bundle);
        result = { name: target.name, status: 'created', thingName: device.id };
      }
    } catch (error) {
      result = { name: target.name, status: 'failed', error: `${(error as Error).name}: ${(error as Error).message}` };
    }
    results.push(result);
    options.onDevice?.(result);
  }
  return results;
}

async function reusableBundle(credentials: DeviceCredentialStore, dir: string): Promise<string | undefined> {
  try {
    await access(join(dir, 'device.json'));
  } catch {
    return undefined;
  }
  const bundle = await readDeviceBundle(dir);
  const binding = await credentials.get(bundle.manifest.thingName);
  return admits(binding, bundle.manifest.certificateId) ? binding!.deviceId : undefined;
}

interface CreateCommandOptions {
  type: string;
  count: number;
  out: string;
  target: 'local' | 'aws';
  endpoint: string;
  dataDir: string;
  mqttHost: string;
  mqttPort: number;
  policyName?: string;
  devicesTable?: string;
  statsTable?: string;
  stateFile?: string;
  caFile?: string;
  csr?: string;
  csrDir?: string;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('use an integer from 1 to 10000');
  return n;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new InvalidArgumentError('use a port from 1 to 65535');
  return n;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `12h`, `7d` in milliseconds. */
export function parseDuration(value: string): number {
  const match = /^([1-9][0-9]{0,6})([smhd])$/.exec(value);
  if (!match) throw new InvalidArgumentError('use a whole number and a unit: s, m, h or d (e.g. 7d, 12h)');
  return Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
}

function parseType(value: string): string {
  if (!/^[a-z0-9_-]{1,64}$/.test(value)) throw new InvalidArgumentError('use 1-64 of a-z 0-9 _ -');
  return value;
}

/** A progress bar on stderr for bulk runs (silent when stderr is not a terminal). */
function progressBar(total: number): { tick(result: DeviceResult): void; stop(): void } {
  if (total <= 1) return { tick: () => undefined, stop: () => undefined };
  const bar = new SingleBar({ format: 'devices [{bar}] {value}/{total} {percentage}% | {failed} failed | ETA {eta}s', stream: process.stderr }, Presets.shades_classic);
  let failed = 0;
  bar.start(total, 0, { failed });
  return {
    tick(result) {
      if (result.status === 'failed') failed += 1;
      bar.increment(1, { failed });
    },
    stop: () => bar.stop(),
  };
}

/** The summary lines of a provisioning run. */
export function summaryLines(results: readonly DeviceResult[]): string[] {
  const count = (status: DeviceResult['status']) => results.filter((r) => r.status === status).length;
  const lines = [`created ${count('created')}, resumed ${count('resumed')}, unchanged ${count('unchanged')}, failed ${count('failed')}`];
  for (const r of results) if (r.status === 'failed') lines.push(`  ${r.name}: ${r.error}`);
  if (results.length === 1 && results[0]!.status !== 'failed') lines.push(`thing name ${results[0]!.thingName}`);
  return lines;
}

function explainUnreachable(error: unknown, endpoint: string): string {
  const message = (error as Error).message;
  if (/ECONNREFUSED|UNAVAILABLE|connect/i.test(`${(error as Error).name} ${message} ${String((error as { cause?: unknown }).cause ?? '')}`)) {
    return `cannot reach the local platform's DynamoDB endpoint ${endpoint}: start it with \`iotctl local\` or pass --endpoint (${message})`;
  }
  return message;
}

/**
 * The options `create` and `rotate` share: where the device lives and, locally, what signs its
 * certificate and where it connects; in AWS, the stack outputs and the root CA.
 */
function addCertificateOptions(command: Command, localEndpoint: string): Command {
  return command
    .addOption(new Option('--target <target>', 'where the device lives').choices(['local', 'aws']).default('local'))
    .option('--endpoint <url>', 'local: DynamoDB endpoint of `iotctl local` (env IOT_DYNAMODB_ENDPOINT)', localEndpoint)
    .option('--data-dir <dir>', 'local: data directory of `iotctl local` (its CA signs the certificates)', '.local')
    .option('--mqtt-host <host>', 'local: broker host written to device.json', '127.0.0.1')
    .option('--mqtt-port <port>', 'local: broker port written to device.json', parsePort, DEFAULT_PORTS.mqtt)
    .option('--policy-name <name>', 'aws: the DevicePolicyName stack output (env IOT_DEVICE_POLICY_NAME)', process.env.IOT_DEVICE_POLICY_NAME)
    .option('--devices-table <name>', 'aws: the DevicesTableName stack output (env DEVICES_TABLE_NAME)', process.env.DEVICES_TABLE_NAME)
    .option('--stats-table <name>', 'aws: the StatsTableName stack output (env STATS_TABLE_NAME)', process.env.STATS_TABLE_NAME)
    .option('--ca-file <file>', `aws: root CA to write as ca.crt (default: downloaded from ${AMAZON_ROOT_CA_URL})`);
}

/** The registry of a deployed stack (page tokens are never handed out by the CLI, so any secret will do). */
function awsRegistry(doc: ReturnType<typeof createDocumentClient>, devicesTable: string, statsTable: string | undefined): DeviceRegistry {
  return new DeviceRegistry({
    repository: new DynamoDbDeviceRepository(doc, devicesTable),
    stats: new DynamoDbStatsStore(doc, statsTable ?? devicesTable),
    pageTokens: createPageTokenCodec(randomSecret()),
  });
}

/** Adds `device create`, `device rotate` and `device revoke` to `program`; `write` receives the output lines. */
export function register(
  program: Command,
  write: LineWriter = stdoutLines,
  writeError: LineWriter = stderrLines,
): void {
  const guarded = <A extends unknown[]>(action: (...args: A) => Promise<void>) => reportingErrors('device', writeError, action);
  const device = program.command('device').description('provision and revoke devices (X.509 certificates, registry records)');
  const localEndpoint = process.env.IOT_DYNAMODB_ENDPOINT ?? DEFAULT_LOCAL_ENDPOINT;

  addCertificateOptions(device.command('create <name>'), localEndpoint)
    .description('provision devices: a certificate naming the thing, the registry record, and DIR/{device.crt,device.key,ca.crt,device.json}')
    .option('--type <type>', 'device type', parseType, 'sensor')
    .option('--count <n>', 'how many devices; with more than one, each gets DIR/<name>-<i>/', parseCount, 1)
    .requiredOption('--out <dir>', 'where the device files are written')
    .option('--csr <file>', 'sign this PEM CSR (local CA, or CreateCertificateFromCsr in AWS): the device keeps its private key, no device.key is written')
    .option('--csr-dir <dir>', 'one device per *.csr/*.pem file, named <name>-<file stem>, bundle in DIR/<name>-<file stem>/')
    .option('--state-file <file>', 'aws: resumable progress of a bulk run (default DIR/.provisioning-state.json)')
    .action(
      guarded(async (name: string, options: CreateCommandOptions) => {
      const bar = progressBar((await createTargets({ ...options, name })).length);
      let results: DeviceResult[];
      if (options.target === 'local') {
        const connection = connectLocalRegistry(options.endpoint);
        try {
          results = await createLocalDevices(connection, { ...options, name, onDevice: (r) => bar.tick(r) });
        } finally {
          connection.close();
          bar.stop();
        }
        results = results.map((r) => (r.status === 'failed' ? { ...r, error: explainUnreachable({ name: '', message: r.error }, options.endpoint) } : r));
      } else {
        if (!options.policyName || !options.devicesTable) {
          throw new InvalidArgumentError('--target aws needs --policy-name and --devices-table (the stack outputs DevicePolicyName, DevicesTableName)');
        }
        const doc = createDocumentClient({});
        const iot = new IoTClient({});
        const registry = awsRegistry(doc, options.devicesTable, options.statsTable);
        try {
          const summary = await provisionAwsDevices(
            {
              iot,
              registry,
              credentials: new DynamoDbDeviceCredentialStore(doc, options.devicesTable),
              policyName: options.policyName,
              stateFile: options.stateFile ?? join(options.out, '.provisioning-state.json'),
              rootCa: async () => (options.caFile ? readFile(options.caFile, 'utf8') : downloadRootCa()),
              onDevice: (r) => bar.tick(r),
            },
            (await createTargets({ ...options, name })).map((t) => ({ ...t, type: options.type })),
          );
          results = [...summary.results];
        } finally {
          bar.stop();
          iot.destroy();
          doc.destroy();
        }
      }
      for (const line of summaryLines(results)) write(line);
      if (results.some((r) => r.status === 'failed')) process.exitCode = 1;
      }),
    );

  addCertificateOptions(device.command('rotate <id>'), localEndpoint)
    .description(
      'give a device a second certificate, admitted beside the current one for a grace period; --finish revokes the old one (locally the broker refuses it and cuts its sessions; in AWS UpdateCertificate REVOKED and detach)',
    )
    .option('--out <dir>', 'where the new device.crt, device.key (not with --csr), ca.crt and device.json are written (required unless --finish)')
    .option('--csr <file>', 'sign this PEM CSR made by the device: its new key never leaves it, no device.key is written')
    .option('--grace <duration>', 'how long the old certificate stays admitted beside the new one unless finished first (s, m, h, d)', parseDuration, DEFAULT_ROTATION_GRACE_MS)
    .option('--finish', 'end the pending rotation: only the new certificate is admitted, the old one is revoked')
    .action(
      guarded(async (id: string, options: RotateCommandOptions) => {
        if (options.finish && (options.out !== undefined || options.csr !== undefined)) {
          throw new InvalidArgumentError('--finish takes no --out or --csr: it only ends the rotation already pending');
        }
        if (!options.finish && options.out === undefined) throw new InvalidArgumentError('rotate needs --out <dir> for the new certificate (or --finish)');
        if (options.out !== undefined && (await exists(join(options.out, 'device.json')))) {
          throw new InvalidArgumentError(`${options.out} already holds a device bundle: give the new certificate its own directory, the current one stays in use until --finish`);
        }
        // Checked before anything is created: a refused CSR leaves the binding as it was.
        const csr = options.csr === undefined ? undefined : await parseCertificateRequest(await readFile(options.csr, 'utf8'), options.csr);
        const progress = (step: string) => writeError(`rotate ${id}: ${step}`);
        let started: RotationStarted | undefined;
        let finished: RotationFinished | undefined;
        if (options.target === 'local') {
          const connection = connectLocalRegistry(options.endpoint);
          try {
            if (options.finish) {
              finished = await finishLocalRotation(connection.credentials, id);
            } else {
              const ca = await openLocalCa(resolve(options.dataDir));
              started = await rotateLocalDevice(
                { registry: connection.registry, credentials: connection.credentials, ca, endpoint: { host: options.mqttHost, port: options.mqttPort } },
                id,
                options.out!,
                { graceMs: options.grace, ...(csr && { csr }) },
              );
            }
          } catch (error) {
            if (isDomainError(error) && error.code !== 'UNAVAILABLE') throw error;
            throw new Error(explainUnreachable(error, options.endpoint), { cause: error });
          } finally {
            connection.close();
          }
        } else {
          if (!options.devicesTable || (!options.finish && !options.policyName)) {
            throw new InvalidArgumentError('--target aws needs --devices-table, and without --finish --policy-name (the stack outputs DevicesTableName, DevicePolicyName)');
          }
          const doc = createDocumentClient({});
          const iot = new IoTClient({});
          const credentials = new DynamoDbDeviceCredentialStore(doc, options.devicesTable);
          try {
            if (options.finish) {
              finished = await finishAwsRotation({ iot, credentials, progress }, id);
            } else {
              started = await rotateAwsDevice(
                {
                  iot,
                  registry: awsRegistry(doc, options.devicesTable, options.statsTable),
                  credentials,
                  policyName: options.policyName!,
                  rootCa: async () => (options.caFile ? readFile(options.caFile, 'utf8') : downloadRootCa()),
                  progress,
                },
                id,
                options.out!,
                { graceMs: options.grace, ...(csr && { csr }) },
              );
            }
          } finally {
            iot.destroy();
            doc.destroy();
          }
        }
        for (const line of rotationLines(id, started, finished, options.out)) write(line);
      }),
    );

  device
    .command('revoke <id>')
    .description('disable a device certificate: locally the broker refuses it and disconnects it; in AWS UpdateCertificate INACTIVE (a deleted device: its thing\'s certificates are revoked and detached)')
    .addOption(new Option('--target <target>', 'where the device lives').choices(['local', 'aws']).default('local'))
    .option('--endpoint <url>', 'local: DynamoDB endpoint of `iotctl local` (env IOT_DYNAMODB_ENDPOINT)', localEndpoint)
    .option('--devices-table <name>', 'aws: the DevicesTableName stack output (env DEVICES_TABLE_NAME)', process.env.DEVICES_TABLE_NAME)
    .option('--stats-table <name>', 'aws: the StatsTableName stack output (env STATS_TABLE_NAME)', process.env.STATS_TABLE_NAME)
    .action(
      guarded(async (id: string, options: Pick<CreateCommandOptions, 'target' | 'endpoint' | 'devicesTable' | 'statsTable'>) => {
      let note = '';
      if (options.target === 'local') {
        const connection = connectLocalRegistry(options.endpoint);
        try {
          const outcome = await revokeLocalDevice(connection.credentials, id);
          if (outcome.deleted) note = ' (no such device is registered, deleted or never created: the broker admits no certificate of it)';
        } catch (error) {
          if (isDomainError(error) && error.code !== 'UNAVAILABLE') throw error;
          throw new Error(explainUnreachable(error, options.endpoint), { cause: error });
        } finally {
          connection.close();
        }
      } else {
        if (!options.devicesTable) throw new InvalidArgumentError('--target aws needs --devices-table (the DevicesTableName stack output)');
        const doc = createDocumentClient({});
        const iot = new IoTClient({});
        try {
          const outcome = await revokeAwsDevice({ iot, credentials: new DynamoDbDeviceCredentialStore(doc, options.devicesTable) }, id);
          if (outcome.deleted) note = ` (device already deleted: ${outcome.retiredCertificateIds.length} certificate(s) of its thing revoked and detached)`;
        } finally {
          iot.destroy();
          doc.destroy();
        }
      }
      write(`revoked ${id}${note}`);
      }),
    );
}

interface RotateCommandOptions {
  out?: string;
  csr?: string;
  grace: number;
  finish?: boolean;
  target: 'local' | 'aws';
  endpoint: string;
  dataDir: string;
  mqttHost: string;
  mqttPort: number;
  policyName?: string;
  devicesTable?: string;
  statsTable?: string;
  caFile?: string;
}

/** The result lines of `device rotate`. */
export function rotationLines(id: string, started: RotationStarted | undefined, finished: RotationFinished | undefined, out: string | undefined): string[] {
  if (finished) {
    return [
      `finished rotation of ${id}: certificate ${finished.retiredCertificateId} revoked`,
      `admitted now: ${finished.binding.certificateId} only`,
    ];
  }
  if (!started) return [];
  const keyNote = started.bundle.privateKeyPem === undefined ? ' (no device.key: the key stays on the device)' : '';
  return [
    `rotating ${id}: new certificate ${started.binding.pendingCertificateId} written to ${out}${keyNote}`,
    `both ${started.previousCertificateId} and the new certificate are admitted until ${started.binding.graceEndsAt}`,
    `once the device uses the new certificate: iotctl device rotate ${id} --finish`,
  ];
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function downloadRootCa(): Promise<string> {
  const response = await fetch(AMAZON_ROOT_CA_URL);
  if (!response.ok) throw new Error(`cannot download ${AMAZON_ROOT_CA_URL}: HTTP ${response.status}; pass --ca-file`);
  return response.text();
}
