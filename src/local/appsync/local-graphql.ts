import { randomBytes } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AppSyncChangePublisher } from '../../adapters/appsync/appsync-change-publisher.js';
import { AppSyncCommandPublisher } from '../../adapters/appsync/appsync-command-publisher.js';
import type { CommandChangePublisher } from '../../commands/command-change.js';
import type { ResolverDeps } from '../../graphql/resolver-handler.js';
import { markDeviceWatched } from '../../adapters/dynamodb/device-watch.js';
import { DynamoDbTelemetryStore } from '../../adapters/telemetry/dynamodb-telemetry-store.js';
import type { DeviceRegistry } from '../../domain/device-registry.js';
import { createPageTokenCodec } from '../../domain/page-token.js';
import { TelemetryHistory } from '../../domain/telemetry-history.js';
import type { ChangePublisher } from '../../ports/change-feed.js';
import { CONSOLE_DIST_DIR } from '../../contracts/console-assets.js';
import type { AlarmService } from '../../alarms/alarm-service.js';
import type { AlarmPublisher } from '../../alarms/alarm-notification.js';
import { AppSyncAlarmPublisher } from '../../adapters/appsync/appsync-alarm-publisher.js';
import { startLocalGraphqlServer, type LocalGraphqlServer } from './local-server.js';
import { LocalTokenIssuer } from './local-token-issuer.js';
import { lineLogger } from '../../adapters/logging/line-logger.js';
import { DISCARDED_METRICS } from '../../adapters/metrics/discarded-metrics.js';
import { composeGraphqlFunction } from '../../functions/graphql-function.js';

/** What the GraphQL step needs from the local platform. */
export interface LocalGraphqlDeps {
  readonly registry: DeviceRegistry;
  readonly commands: ResolverDeps['commands'];
  readonly twins: ResolverDeps['twins'];
  readonly alarms: AlarmService;
  /** Receives the publisher of alarmUpdated (the alarm stream consumer calls it per transition). */
  readonly alarmFeed?: { addLive(publisher: AlarmPublisher): void };
  readonly doc: DynamoDBDocumentClient;
  readonly tables: { readonly telemetry: string; readonly devices: string };
  readonly changeFeed: { addPublisher(publisher: ChangePublisher): void; addCommandPublisher(publisher: CommandChangePublisher): void };
  /** Where the token issuer keeps its key; undefined (ephemeral) keeps it in this process only. */
  readonly dataDir: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly region?: string;
  /** The built console served at /. @default CONSOLE_DIST_DIR */
  readonly consoleDir?: string;
  readonly log?: (line: string) => void;
}

/**
 * The local platform's GraphQL step: the resolver function composed as the Lambda composes it, over the platform's
 * registry and telemetry table, served by the local AppSync stand-in; and the change feed's
 * AppSync publisher, signing publishDeviceUpdate with the server's local IAM credentials,
 * exactly as the events Lambda does in the cloud.
 */
export async function startLocalGraphql(deps: LocalGraphqlDeps): Promise<LocalGraphqlServer> {
  const log = deps.log ?? (() => {});
  const issuer = deps.dataDir ? await LocalTokenIssuer.fromDataDir(deps.dataDir) : await LocalTokenIssuer.forProcess();
  const resolver = composeGraphqlFunction({
    registry: deps.registry,
    commands: deps.commands,
    twins: deps.twins,
    telemetry: new TelemetryHistory({
      reader: new DynamoDbTelemetryStore(deps.doc, deps.tables.telemetry),
      // Telemetry page tokens only need to outlive a client's paging session, not a restart.
      pageTokens: createPageTokenCodec(randomBytes(32)),
    }),
    logger: lineLogger('graphql', log, 'warn'),
    metrics: DISCARDED_METRICS,
    alarms: deps.alarms,
  });
  const server = await startLocalGraphqlServer({
    resolver,
    // The CDK's DynamoDB resolver of deviceUpdated, through the same (captured) client.
    subscriptionResolvers: {
      deviceUpdated: async ({ id }) => {
        if (typeof id === 'string') await markDeviceWatched(deps.doc, deps.tables.devices, id);
      },
    },
    issuer,
    host: deps.host,
    port: deps.port,
    ...(deps.region && { region: deps.region }),
    consoleDir: deps.consoleDir ?? CONSOLE_DIST_DIR,
    log,
  });
  log(
    deps.dataDir
      ? `graphql: tokens from \`npm run iotctl -- token --user NAME --group admin|viewer --data-dir ${deps.dataDir}\``
      : 'graphql: ephemeral token key, so `iotctl token` tokens are refused (sign in-process with LocalTokenIssuer.forProcess())',
  );
  const publisher = new AppSyncChangePublisher({ url: server.url, region: server.region, credentials: server.iamCredentials });
  let stopped = false;
  // After stop the feed may still drain; those changes have no subscribers left to reach.
  deps.changeFeed.addPublisher({
    publish: (change) => (stopped ? Promise.resolve() : publisher.publish(change)),
    publishTelemetryBatch: (changes) => (stopped ? Promise.resolve() : publisher.publishTelemetryBatch(changes)),
  });
  const commandPublisher = new AppSyncCommandPublisher({ url: server.url, region: server.region, credentials: server.iamCredentials });
  deps.changeFeed.addCommandPublisher({ publish: (change) => (stopped ? Promise.resolve() : commandPublisher.publish(change)) });
  const alarmPublisher = new AppSyncAlarmPublisher({ url: server.url, region: server.region, credentials: server.iamCredentials });
  deps.alarmFeed?.addLive({ publish: (n) => (stopped ? Promise.resolve() : alarmPublisher.publish(n)) });
  return {
    ...server,
    stop: async () => {
      stopped = true;
      await server.stop();
    },
  };
}
