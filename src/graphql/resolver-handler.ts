import type { CommandService } from '../commands/command-service.js';
import type { AlarmService } from '../alarms/alarm-service.js';
import type { DeviceRegistry } from '../domain/device-registry.js';
import type { TwinService } from '../twin/twin-service.js';
import { ValidationError } from '../domain/errors.js';
import type {
  MutationArgs,
  MutationResults,
  QueryArgs,
  QueryResults,
  TelemetryBucket,
  TelemetryPoint,
  TelemetryValue,
} from '../generated/graphql/types.js';
import type { TelemetryBucket as Bucket } from '../domain/telemetry-rollup.js';
import type { ReadingValue } from '../domain/device.js';
import type { TelemetryHistory } from '../domain/telemetry-history.js';
import type { TelemetrySample } from '../ports/telemetry-store.js';
import { AppSyncRouter, type DirectLambdaEvent } from './appsync-router.js';
import { READ_GROUPS, WRITE_GROUPS } from '../contracts/groups.js';
import { requireGroup } from './caller.js';
import { toGraphqlDevice } from '../wire/graphql-device.js';
import { metadataFromInput, toGraphqlStats } from './device-mapper.js';
import { toGraphqlCommand, toGraphqlTwin } from './command-mapper.js';
import type { Device } from '../generated/graphql/types.js';
import { fromRuleInput, toGraphqlAlarm, toGraphqlRule, toSeverityCounts } from './alarm-mapper.js';
import { toGraphqlTransition } from '../wire/graphql-alarm.js';
import { cognitoGroups } from './caller.js';
import { isAwsDateTime } from './appsync-scalar-rules.js';

/** Ports the GraphQL resolvers run on; composed once per door (Lambda module scope, local server). */
export interface ResolverDeps {
  readonly registry: Pick<DeviceRegistry, 'create' | 'get' | 'list' | 'update' | 'delete' | 'stats'>;
  readonly telemetry: Pick<TelemetryHistory, 'query'>;
  readonly commands: Pick<CommandService, 'send' | 'get' | 'list' | 'cancel'>;
  readonly twins: Pick<TwinService, 'get' | 'updateDesired'>;
  readonly alarms: AlarmService;
  /** Told about unexpected errors (they reach the client as InternalFailure only). */
  readonly onUnexpectedError?: (error: unknown, event: DirectLambdaEvent) => void;
}

/** A direct Lambda resolver: one AppSync field event in, the field's value out. */
export type ResolverHandler = ((event: DirectLambdaEvent) => Promise<unknown>) & {
  /** Every `Type.field` this handler resolves (the contract test compares it with the schema). */
  readonly fields: readonly string[];
};


function epochMs(value: string, field: string): number {
  // The AWSDateTime scalar already refuses bad text at the edge; this guards direct invocations.
  if (!isAwsDateTime(value)) throw new ValidationError(`${field} must be an AWSDateTime`, field);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ValidationError(`${field} is not a representable time`, field);
  return ms;
}

/** Who is calling, for createdBy: the user pool user name (requireGroup already refused anyone else). */
function callerName(event: DirectLambdaEvent): string {
  const identity = event.identity as { username?: unknown } | null;
  return typeof identity?.username === 'string' && identity.username.length > 0 ? identity.username : 'unknown';
}

function toValue(value: ReadingValue): TelemetryValue {
  if (typeof value === 'number') return { numberValue: value, booleanValue: null, stringValue: null };
  if (typeof value === 'boolean') return { numberValue: null, booleanValue: value, stringValue: null };
  return { numberValue: null, booleanValue: null, stringValue: value };
}

function toPoint(sample: TelemetrySample): TelemetryPoint {
  return { timestamp: new Date(sample.ts).toISOString(), ...toValue(sample.value) };
}

function toGraphqlBucket(bucket: Bucket): TelemetryBucket {
  return {
    start: new Date(bucket.start).toISOString(),
    count: bucket.count,
    min: bucket.min ?? null,
    max: bucket.max ?? null,
    avg: bucket.avg ?? null,
    last: toValue(bucket.last),
  };
}

/**
 * Builds the GraphQL resolver handler over the domain core. The Lambda (lambdas/graphql) and
 * the local server both call what this returns, with AppSync's direct Lambda event shape.
 */
export function createResolverHandler(deps: ResolverDeps): ResolverHandler {
  const { registry, commands, twins, alarms } = deps;
  // Device.twin lives in its own item: read only when the query selects it, as a field resolver would.
  const withTwin = async (device: Device, event: DirectLambdaEvent, path: string): Promise<Device> =>
    event.info.selectionSetList.includes(path) ? { ...device, twin: toGraphqlTwin(await twins.get(device.id)) } : device;
  const selects = (event: DirectLambdaEvent, field: string) => (event.info?.selectionSetList ?? []).includes(field);
  const withAlarms = async <D extends { id: string }>(event: DirectLambdaEvent, path: string, device: D) =>
    selects(event, path) ? { ...device, alarms: (await alarms.deviceAlarms(device.id)).map(toGraphqlAlarm) } : device;
  const actor = (event: DirectLambdaEvent): string => {
    const identity = event.identity as { username?: string } | null;
    return identity && cognitoGroups(event.identity) ? String(identity.username ?? 'unknown') : 'unknown';
  };
  const router = new AppSyncRouter<QueryArgs, QueryResults, MutationArgs, MutationResults>({
    ...(deps.onUnexpectedError && { onUnexpectedError: deps.onUnexpectedError }),
  });

  router
    .onQuery('device', async ({ id }, event) => {
      requireGroup(event.identity, READ_GROUPS, 'read devices');
      return withTwin(await withAlarms(event, 'alarms', toGraphqlDevice(await registry.get(id))), event, 'twin');
    })
    .onQuery('devices', async ({ limit, nextToken, filter }, event) => {
      requireGroup(event.identity, READ_GROUPS, 'read devices');
      const page = await registry.list({
        ...(limit !== undefined && limit !== null && { limit }),
        ...(nextToken && { pageToken: nextToken }),
        ...(filter?.status && { status: filter.status }),
        ...(filter?.type && { type: filter.type }),
      });
      const items = await Promise.all(page.items.map(async (d) => withTwin(await withAlarms(event, 'items/alarms', toGraphqlDevice(d)), event, 'items/twin')));
      return { items, nextToken: page.nextPageToken ?? null, total: page.total ?? null };
    })
    .onQuery('stats', async (_args, event) => {
      requireGroup(event.identity, READ_GROUPS, 'read stats');
      const [stats, active] = await Promise.all([registry.stats(), selects(event, 'activeAlarms') ? alarms.activeBySeverity() : undefined]);
      return toGraphqlStats(stats, active ? toSeverityCounts(active) : []);
    })
    .onQuery('alarmRule', async ({ id, version }, event) => {
      requireGroup(event.identity, READ_GROUPS, 'read alarm rules');
      return toGraphqlRule(version === undefined || version === null ? await alarms.getRule(id) : await alarms.getRuleVersion(id, version));
    })
    .onQuery('alarmRules', async (_args, event) => {
      requireGroup(event.identity, READ_GROUPS, 'read alarm rules');
      return (await alarms.listRules()).map(toGraphqlRule);
    })
    .onQuery('alarms', async ({ filter, limit, nextToken }, event) => {
      requireGroup(event.identity, READ_GROUPS, 'read alarms');
      const page = await alarms.listAlarms({ ...(filter ?? {}), ...(limit !== undefined && limit !== null && { limit }), ...(nextToken && { pageToken: nextToken }) });
      return { items: page.items.map(toGraphqlAlarm), nextToken: page.nextPageToken ?? null };
    })
    .onQuery('alarm', async ({ id, historyLimit, historyNextToken }, event) => {
      requireGroup(event.identity, READ_GROUPS, 'read alarms');
      const alarm = toGraphqlAlarm(await alarms.getAlarm(id));
      const history = await alarms.history(id, historyLimit ?? undefined, historyNextToken ?? undefined);
      return { ...alarm, history: { items: history.items.map(toGraphqlTransition), nextToken: history.nextPageToken ?? null } };
    })
    .onQuery('telemetry', async (args, event) => {
      requireGroup(event.identity, READ_GROUPS, 'read telemetry');
      const page = await deps.telemetry.query({
        deviceId: args.deviceId,
        metric: args.metric,
        from: epochMs(args.from, 'from'),
        to: epochMs(args.to, 'to'),
        ...(args.limit !== undefined && args.limit !== null && { limit: args.limit }),
        ...(args.nextToken && { pageToken: args.nextToken }),
        ...(args.resolution && { resolution: args.resolution }),
      });
      return { items: page.items.map(toPoint), buckets: page.buckets.map(toGraphqlBucket), nextToken: page.nextPageToken ?? null };
    })
    .onQuery('command', async ({ id }, event) => {
      requireGroup(event.identity, READ_GROUPS, 'read commands');
      return toGraphqlCommand(await commands.get(id));
    })
    .onQuery('commands', async ({ deviceId, status, limit, nextToken }, event) => {
      requireGroup(event.identity, READ_GROUPS, 'read commands');
      const page = await commands.list({ deviceId, status, limit, pageToken: nextToken });
      return { items: page.items.map(toGraphqlCommand), nextToken: page.nextPageToken ?? null };
    })
    .onMutation('sendCommand', async ({ input }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'send commands');
      return toGraphqlCommand(await commands.send(input, callerName(event)));
    })
    .onMutation('cancelCommand', async ({ id }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'cancel commands');
      return toGraphqlCommand(await commands.cancel(id, callerName(event)));
    })
    .onMutation('updateDesiredState', async ({ deviceId, patch, expectedVersion }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'change desired state');
      return toGraphqlTwin(await twins.updateDesired({ deviceId, patch, expectedVersion }));
    })
    .onMutation('createDevice', async ({ input }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'create devices');
      const metadata = metadataFromInput(input.metadata, input.metadataJson);
      const device = await registry.create({
        ...(input.id && { id: input.id }),
        name: input.name,
        type: input.type,
        ...(input.status && { status: input.status }),
        ...(metadata && { metadata }),
      });
      return toGraphqlDevice(device);
    })
    .onMutation('updateDevice', async ({ input }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'update devices');
      const metadata = metadataFromInput(input.metadata, input.metadataJson);
      const device = await registry.update({
        id: input.id,
        ...(input.name !== undefined && input.name !== null && { name: input.name }),
        ...(input.type !== undefined && input.type !== null && { type: input.type }),
        ...(input.status && { status: input.status }),
        ...(metadata && { metadata }),
        ...(input.expectedVersion !== undefined && input.expectedVersion !== null && { expectedVersion: input.expectedVersion }),
      });
      return toGraphqlDevice(device);
    })
    .onMutation('deleteDevice', async ({ id, expectedVersion }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'delete devices');
      return toGraphqlDevice(await registry.delete(id, expectedVersion ?? undefined));
    })
    .onMutation('createAlarmRule', async ({ input }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'create alarm rules');
      return toGraphqlRule(await alarms.createRule(fromRuleInput(input)));
    })
    .onMutation('updateAlarmRule', async ({ id, input, expectedVersion }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'update alarm rules');
      return toGraphqlRule(await alarms.updateRule(id, fromRuleInput(input), expectedVersion ?? undefined));
    })
    .onMutation('deleteAlarmRule', async ({ id }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'delete alarm rules');
      return toGraphqlRule(await alarms.deleteRule(id));
    })
    .onMutation('acknowledgeAlarm', async ({ id, note }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'acknowledge alarms');
      return toGraphqlAlarm(await alarms.act(id, { kind: 'ACKNOWLEDGE', ...(note !== undefined && note !== null && { note }) }, actor(event)));
    })
    .onMutation('snoozeAlarm', async ({ id, seconds, note }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'snooze alarms');
      return toGraphqlAlarm(await alarms.act(id, { kind: 'SNOOZE', seconds, ...(note !== undefined && note !== null && { note }) }, actor(event)));
    })
    .onMutation('disableAlarm', async ({ id }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'disable alarms');
      return toGraphqlAlarm(await alarms.act(id, { kind: 'DISABLE' }, actor(event)));
    })
    .onMutation('enableAlarm', async ({ id }, event) => {
      requireGroup(event.identity, WRITE_GROUPS, 'enable alarms');
      return toGraphqlAlarm(await alarms.act(id, { kind: 'ENABLE' }, actor(event)));
    });

  const handler = ((event: DirectLambdaEvent) => router.resolve(event)) as ResolverHandler;
  Object.defineProperty(handler, 'fields', { value: Object.freeze(router.registeredFields()) });
  return handler;
}
