/**
 * The local platform (`npm start` / `iotctl local`): the whole platform in one process, no AWS.
 * This is the local runtime's composition root.
 *
 * startLocalPlatform runs its start steps in order; each step registers how it stops, and
 * stop() (or a failing later step) runs those in reverse. A later part (broker, GraphQL, gRPC)
 * adds one step: start its server with `listenOrExplain`, `stops.push(...)`, and set its
 * `endpoints` entry.
 */
import { TelemetryHistory } from '../domain/telemetry-history.js';
import { DynamoDbTelemetryStore } from '../adapters/telemetry/dynamodb-telemetry-store.js';
import { join, resolve } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../adapters/dynamodb/client.js';
import { lineLogger } from '../adapters/logging/line-logger.js';
import { DynamoDbDeviceRepository } from '../adapters/dynamodb/device-repository.js';
import { DynamoDbDeviceStateWriter } from '../adapters/dynamodb/device-state-writer.js';
import { rebuildStats, recountStats, sameStats, statsOf } from '../adapters/dynamodb/stats-rebuild.js';
import { DynamoDbStatsStore } from '../adapters/dynamodb/stats-store.js';
import { composePresenceReconcilerFunction } from '../functions/presence-reconciler-function.js';
import { composeRotationSweepFunction } from '../functions/rotation-sweep-function.js';
import { DynamoDbDueRotations } from '../adapters/dynamodb/due-rotations.js';
import { finishLocalRotation } from '../provisioning/rotation-finish.js';
import { ROTATION_DUE_INDEX } from '../contracts/rotation-sweep.js';
import { DISCARDED_METRICS } from '../adapters/metrics/discarded-metrics.js';
import { brokerConnectivity } from './iot-core/broker-connectivity.js';
import { ALL_TABLES, DEVICES_TABLE } from '../contracts/tables.js';
import { CHANGE_STREAM_MAPPING } from '../contracts/stream-mappings.js';
import { DeviceRegistry } from '../domain/device-registry.js';
import type { IngestSettings } from '../contracts/ingest-settings.js';
import type { DeviceCredentialStore } from '../ports/device-credentials.js';
import { createPageTokenCodec } from '../domain/page-token.js';
import { capturedTables, startChangeCapture } from './dynamodb/change-capture.js';
import { dataDirSecret, lockDataDir, randomSecret } from './data-dir.js';
import { ensureTables, LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames, startDynalite } from './dynamodb/dynalite.js';
import { LocalChangeFeed } from './event-source-mapping/local-change-feed.js';
import { listenOrExplain } from './startup-errors.js';
import type { AwsCredentials } from '../adapters/appsync/sigv4-signer.js';
import { startLocalGraphql } from './appsync/local-graphql.js';
import { startLocalIotCore } from './iot-core/local-iot-core.js';
import { startLocalGrpc } from '../grpc/local-grpc.js';
import { commandChangeTopic } from '../contracts/topics.js';
import type { CommandService } from '../commands/command-service.js';
import type { TwinService } from '../twin/twin-service.js';
import { createLocalDeviceControl } from './device-control.js';
import { ALARMS_TABLE } from '../contracts/tables.js';
import { startLocalAlarms, type LocalAlarms } from './alarms/local-alarms.js';
import { LocalTokenIssuer } from './appsync/local-token-issuer.js';

/** Default ports of `iotctl local`; 0 picks any free port (tests). */
export const DEFAULT_PORTS = { dynamodb: 8000, mqtt: 8883, graphql: 4000, grpc: 50051 } as const;

/** Which port each listener uses. */
export type LocalPorts = { [name in keyof typeof DEFAULT_PORTS]?: number };

/** Every listener on any free port: what tests pass as `ports` (with `ephemeral: true`). */
export const ANY_FREE_PORTS: Required<LocalPorts> = { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 };

/** The `iotctl local` flag that sets each port (named in port-in-use errors). */
export const PORT_FLAGS: Readonly<Record<keyof typeof DEFAULT_PORTS, string>> = {
  dynamodb: '--port-dynamodb',
  mqtt: '--port-mqtt',
  graphql: '--port-graphql',
  grpc: '--port-grpc',
};

/** How often the local platform compares ONLINE devices with the broker's sessions. */
export const LOCAL_PRESENCE_RECONCILE_MS = 10_000;

/** How often the local platform finishes the certificate rotations whose grace period has ended. */
export const LOCAL_ROTATION_SWEEP_MS = 10_000;

/** Prefix of the local physical table names (`iot-Devices`, ...). */
export const LOCAL_TABLE_PREFIX = 'iot-';

/** Options for {@link startLocalPlatform}. */
export interface LocalPlatformOptions {
  /** Where data persists across restarts. @default '.local' */
  dataDir?: string;
  /** Keep everything in memory and use no data directory. @default false */
  ephemeral?: boolean;
  /** Interface every listener binds to. @default '127.0.0.1' */
  host?: string;
  /** @default DEFAULT_PORTS; 0 = any free port */
  ports?: LocalPorts;
  /** How often ONLINE devices are compared with the broker's sessions; 0 only at startup. @default LOCAL_PRESENCE_RECONCILE_MS */
  presenceReconcileMs?: number;
  /** How often due certificate rotations are finished; 0 only at startup. @default LOCAL_ROTATION_SWEEP_MS */
  rotationSweepMs?: number;
  /** Receives one line per thing started or stopped. @default no logging */
  log?: (line: string) => void;
  /** How often no-data rules and snoozes are swept. @default LOCAL_ALARM_SWEEP_MS */
  alarmSweepMs?: number;
  /** Retries of the ingest event source before a record goes to the failure destination, and the first delay. @default the cloud mapping's */
  ingestRetry?: { readonly attempts: number; readonly baseMs: number };
}

/** A running local platform. */
export interface LocalPlatform {
  /** The change-capture proxy in front of dynalite: every DynamoDB client must use this. */
  readonly dynamodbEndpoint: string;
  readonly tables: { devices: string; stats: string; telemetry: string; alarms: string; commands: string; twins: string };
  /** Document client through the capture proxy. */
  readonly doc: DynamoDBDocumentClient;
  readonly registry: DeviceRegistry;
  /** Commands to devices (every door's use cases). */
  readonly commands: CommandService;
  /** Desired and reported state. */
  readonly twins: TwinService;
  readonly changeFeed: LocalChangeFeed;
  /** Alarm rules, evaluation, the Alarms stream consumer and the sweep. */
  readonly alarms: LocalAlarms;
  /** What runs where (name → URL or address), printed by `iotctl local`. */
  readonly endpoints: Record<string, string>;
  /** Absolute data directory, or undefined when ephemeral. */
  readonly dataDir: string | undefined;
  /** The local ingest batching in effect (DEFAULT_LOCAL_INGEST_SETTINGS unless overridden by env). */
  readonly ingest: IngestSettings;
  /** Certificate bindings of devices (provisioning binds and revokes; the broker reads them). */
  readonly credentials: DeviceCredentialStore;
  /** Delivers everything devices published so far through the ingest handler (alarm evaluation included). */
  flushIngest(): Promise<void>;
  /** The local CA's certificate (PEM): MQTT and gRPC clients trust it. */
  readonly caCertificatePem: string;
  /** Where that certificate is on disk (grpcurl -cacert, mosquitto --cafile). */
  readonly caCertificatePath: string;
  /** The key pair the GraphQL server accepts for its IAM-only publish mutations: what the change feed signs with. */
  readonly graphqlIamCredentials: AwsCredentials;
  /** Stops everything in reverse start order; safe to call twice. */
  stop(): Promise<void>;
}

interface StopStep {
  readonly name: string;
  readonly stop: () => Promise<unknown> | unknown;
}

/** Starts dynalite, the change capture and feed, the registry (and later the servers). */
export async function startLocalPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  const log = options.log ?? (() => undefined);
  const host = options.host ?? '127.0.0.1';
  const ports = { ...DEFAULT_PORTS, ...definedOnly(options.ports ?? {}) };
  const ephemeral = options.ephemeral ?? false;
  const dataDir = ephemeral ? undefined : resolve(options.dataDir ?? '.local');
  const stops: StopStep[] = [];
  const endpoints: Record<string, string> = {};

  const stopAll = async () => {
    for (const step of stops.splice(0).reverse()) {
      try {
        await step.stop();
        log(`stopped ${step.name}`);
      } catch (error) {
        log(`failed to stop ${step.name}: ${(error as Error).message}`);
      }
    }
  };

  try {
    // 1. Data directory: one platform at a time; the page-token secret survives restarts so
    //    that tokens handed out before a restart still work.
    let secret: string;
    if (dataDir) {
      const lock = lockDataDir(dataDir);
      stops.push({ name: 'data directory lock', stop: () => lock.release() });
      secret = dataDirSecret(dataDir);
      log(`data directory ${dataDir}`);
    } else {
      secret = randomSecret();
      log('ephemeral run: data is kept in memory only');
    }

    // 2. dynalite, on a private loopback port: clients reach it only through the capture proxy.
    const dynalite = await startDynalite({ ...(dataDir && { path: resolve(dataDir, 'dynamodb') }), port: 0 });
    stops.push({ name: 'dynalite', stop: () => dynalite.stop() });
    const names = localTableNames(LOCAL_TABLE_PREFIX);
    const missingIndexes = await ensureTables(dynalite.endpoint, names);
    const tables = { devices: names.Devices!, stats: names.Stats!, telemetry: names.Telemetry!, alarms: names[ALARMS_TABLE.id]!, commands: names.Commands!, twins: names.Twins! };

    // 3. Change feed: the events handler the Lambda runs, over the stats store. Its stream is
    //    durable under the data directory: what a previous process captured but did not deliver
    //    is delivered first. The Stats table has no stream, so the store talks to dynalite directly.
    const statsDoc = createDocumentClient({ endpoint: dynalite.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    stops.push({ name: 'stats client', stop: () => statsDoc.destroy() });
    const statsStore = new DynamoDbStatsStore(statsDoc, tables.stats);
    const feed = new LocalChangeFeed({
      stats: statsStore,
      logger: lineLogger('change feed', log, 'warn'),
      poller: {
        ...(dataDir && { dir: resolve(dataDir, 'streams', 'changes') }),
        maxRecordAgeMs: CHANGE_STREAM_MAPPING.maxRecordAgeSeconds * 1000,
        onDiscard: (record, reason) => log(`change feed gave up on ${record.eventName} ${record.dynamodb?.SequenceNumber}: ${reason}`),
        log,
      },
      onListenerError: (error) => log(`change listener failed: ${(error as Error).message}`),
    });
    stops.push({
      name: 'change feed',
      stop: async () => {
        const left = await feed.stop();
        if (left > 0) log(`change feed stopped with ${left} undelivered change(s)${dataDir ? ', kept for the next start' : ''}`);
      },
    });
    await feed.recover();

    let alarms: LocalAlarms | undefined;

    // 4. DynamoDB Streams stand-in: the proxy every client uses; a write is answered once its
    //    change is in the feed's durable stream.
    const capture = await listenOrExplain({ name: 'DynamoDB endpoint', host, port: ports.dynamodb, flag: PORT_FLAGS.dynamodb }, () =>
      startChangeCapture({
        upstream: dynalite.endpoint,
        tables: capturedTables(ALL_TABLES, names),
        host,
        port: ports.dynamodb,
        // Each table's stream has its own consumer, as each has its own Lambda in the cloud.
        onRecord: (record) => (record.eventSourceARN?.includes(`/${tables.alarms}/`) ? alarms?.capture(record) : feed.capture(record)),
        onError: (error) => log(`change capture: ${error.message}`),
      }),
    );
    stops.push({ name: 'DynamoDB endpoint', stop: () => capture.stop() });
    endpoints.dynamodb = capture.endpoint;
    const doc = createDocumentClient({ endpoint: capture.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    stops.push({ name: 'DynamoDB client', stop: () => doc.destroy() });

    // 5. Registry: the domain core every door calls.
    const repository = new DynamoDbDeviceRepository(doc, tables.devices);
    const pageTokens = createPageTokenCodec(secret);
    const registry = new DeviceRegistry({ repository, stats: statsStore, pageTokens });

    // 5b. Commands and twins: publish through the broker once it runs (step 7);
    //     before the alarms, whose rules may send commands.
    const control = createLocalDeviceControl({ doc, tables, devices: repository, pageTokens, log });
    stops.push({ name: 'commands and twins', stop: () => control.stop() });

    // 5b. Alarms: rules and actions for the doors, evaluation for the ingest handler, the Alarms
    //     stream consumer and the sweep timer.
    alarms = await startLocalAlarms({
      doc,
      tableName: tables.alarms,
      devices: repository,
      devicesTableName: tables.devices,
      pageTokens,
      commands: control.commands,
      ...(dataDir && { dataDir }),
      ...(options.alarmSweepMs !== undefined && { sweepIntervalMs: options.alarmSweepMs }),
      log,
    });
    const alarmsWing = alarms;
    stops.push({ name: 'alarms', stop: () => alarmsWing.stop() });

    // 5b. Stats agree with the registry before any door opens: once the change feed has delivered
    //     what it holds, a recount that differs (a crash between a write and its change record)
    //     is switched in.
    await feed.flush();
    const recount = statsOf(await recountStats(doc, tables.devices));
    if (!sameStats(recount, await statsStore.read())) {
      const rebuilt = await rebuildStats(doc, tables);
      log(`stats disagreed with the registry and were rebuilt: ${rebuilt.correctedShards} ledger shard(s) corrected`);
    }

    // 6. GraphQL (the AppSync stand-in): the resolver Lambda's handler over the registry; the
    //    change feed publishes every change to its deviceUpdated subscribers.
    const graphql = await listenOrExplain({ name: 'GraphQL', host, port: ports.graphql, flag: PORT_FLAGS.graphql }, () =>
      startLocalGraphql({ registry, commands: control.commands, twins: control.twins, alarms: alarmsWing.service, alarmFeed: alarmsWing, doc, tables, changeFeed: feed, dataDir, host, port: ports.graphql, log }),
    );
    stops.push({ name: 'GraphQL server', stop: () => graphql.stop() });
    endpoints.graphql = graphql.url;
    // The web console is served by the same server, so it shares the origin of /graphql.
    endpoints.console = new URL('/', graphql.url).toString();

    // 7. IoT Core stand-in: mutual-TLS broker on ports.mqtt, the rules over the CDK's rule
    //    definitions, Kinesis-style batching into the ingest and presence handlers; the change
    //    feed is relayed onto the broker's bus (iot.bus) at internal/device-changes/<id>.
    const iot = await listenOrExplain({ name: 'MQTT broker', host, port: ports.mqtt, flag: PORT_FLAGS.mqtt }, () =>
      startLocalIotCore({
        doc,
        tables,
        changeFeed: feed,
        deviceControl: control,
        alarms: alarmsWing.evaluation,
        alarmFeed: alarmsWing,
        dataDir,
        host,
        port: ports.mqtt,
        log,
        ...(options.ingestRetry && { ingestRetry: options.ingestRetry }),
      }),
    );
    stops.push({ name: 'MQTT broker', stop: () => iot.stop() });
    endpoints.mqtt = iot.broker.url;
    control.start(iot.bus);
    let busOpen = true;
    stops.push({ name: 'command change relay', stop: () => (busOpen = false) });
    // Command transitions onto the bus at internal/command-changes/<device>, for gRPC WatchCommands.
    feed.addCommandPublisher({
      publish: async (change) => {
        if (busOpen) await iot.bus.publish(commandChangeTopic(change.command.deviceId), JSON.stringify(change), { qos: 1 });
      },
    });

    // 8. gRPC DeviceService over the registry; WatchDevices relays the change topics of iot.bus.
    //    TLS with the local CA (as the broker), tokens of the same issuer as GraphQL.
    const issuer = dataDir ? await LocalTokenIssuer.fromDataDir(dataDir) : await LocalTokenIssuer.forProcess();
    const grpc = await listenOrExplain({ name: 'gRPC', host, port: ports.grpc, flag: PORT_FLAGS.grpc }, () =>
      startLocalGrpc({
        registry,
        control: { commands: control.commands, twins: control.twins },
        alarms: alarmsWing.service,
        telemetry: new TelemetryHistory({ reader: new DynamoDbTelemetryStore(doc, tables.telemetry), pageTokens }),
        bus: iot.bus,
        host,
        port: ports.grpc,
        log,
        ca: iot.ca,
        issuer,
      }),
    );
    stops.push({ name: 'gRPC server', stop: () => grpc.stop() });
    endpoints.grpc = grpc.address;

    // 9. Presence converges to the broker's truth: at startup nobody has a session yet, so every
    //    device still ONLINE from before a crash goes OFFLINE; then every few seconds.
    const reconcile = composePresenceReconcilerFunction({
      repository: new DynamoDbDeviceRepository(doc, tables.devices),
      devices: new DynamoDbDeviceStateWriter(doc, tables.devices),
      truth: brokerConnectivity(iot.broker),
      logger: lineLogger('presence', log, 'warn'),
      metrics: DISCARDED_METRICS,
      onCorrection: (id, reason) => log(`presence: ${id} set OFFLINE (${reason}): the broker has no session for it`),
    });
    const atStart = await reconcile({ debounceMs: 0 });
    if (atStart.corrected > 0) log(`presence: ${atStart.corrected} device(s) were ONLINE without a session`);
    const every = options.presenceReconcileMs ?? LOCAL_PRESENCE_RECONCILE_MS;
    if (every > 0) {
      const reconciler = setInterval(() => {
        reconcile().catch((error: unknown) => log(`presence reconcile failed: ${(error as Error).message}`));
      }, every);
      reconciler.unref();
      stops.push({ name: 'presence reconciler', stop: () => clearInterval(reconciler) });
    }

    // 10. Rotations whose grace period has ended are finished, as the cloud sweep does: the
    //     broker already refuses the old certificate at the grace end on its own timer; this
    //     makes the binding converge too. A data directory from before the byGraceEnd index
    //     has a Devices table without it (dynalite cannot add one): the broker's refusal stays
    //     the only enforcement there.
    if (missingIndexes[DEVICES_TABLE.id]!.includes(ROTATION_DUE_INDEX)) {
      log(`rotation sweep: off; the Devices table of this data directory predates the ${ROTATION_DUE_INDEX} index (the broker still refuses an old certificate when its grace ends; finish with: iotctl device rotate <id> --finish)`);
    } else {
      const credentials = iot.credentials;
      const sweepRotations = composeRotationSweepFunction({
        due: new DynamoDbDueRotations(doc, tables.devices),
        finish: (deviceId, finishOptions) => finishLocalRotation(credentials, deviceId, finishOptions),
        logger: lineLogger('rotation', log, 'warn'),
        metrics: DISCARDED_METRICS,
        onFinished: (deviceId, finished) => log(`rotation: ${deviceId}'s grace period is over; certificate ${finished.retiredCertificateId} retired`),
      });
      const runSweep = () => sweepRotations().catch((error: unknown) => log(`rotation sweep failed: ${(error as Error).message}`));
      await runSweep();
      const sweepEvery = options.rotationSweepMs ?? LOCAL_ROTATION_SWEEP_MS;
      if (sweepEvery > 0) {
        const sweeper = setInterval(() => void runSweep(), sweepEvery);
        sweeper.unref();
        stops.push({ name: 'rotation sweep', stop: () => clearInterval(sweeper) });
      }
    }

    // A new part adds its start step here: listenOrExplain(...) with its entry in DEFAULT_PORTS and
    // PORT_FLAGS (iotctl local offers a flag for each), stops.push(...), endpoints.<name> = ...

    for (const [name, endpoint] of Object.entries(endpoints)) log(`${name} listening on ${endpoint}`);
    let stopping: Promise<void> | undefined;
    return {
      dynamodbEndpoint: capture.endpoint,
      tables,
      doc,
      registry,
      commands: control.commands,
      twins: control.twins,
      changeFeed: feed,
      alarms: alarmsWing,
      endpoints,
      dataDir,
      ingest: iot.ingest,
      credentials: iot.credentials,
      flushIngest: () => iot.flush(),
      caCertificatePem: iot.ca.caCertificatePem,
      caCertificatePath: join(iot.ca.directory, 'ca.crt'),
      graphqlIamCredentials: graphql.iamCredentials,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
