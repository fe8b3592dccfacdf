/**
 * DeviceService handlers: each parses its request, calls one use case of the domain core and
 * maps the result. Typed from the generated DeviceServiceHandlers.
 */
import type { DeviceRegistry } from '../domain/device-registry.js';
import type { DeviceServiceHandlers } from '../generated/proto/iot/device/v1/DeviceService.js';
import type { ChangeSource } from '../ports/change-feed.js';
import { guardUnary, type CallContext } from './call-guard.js';
import { fromInt64, toCreateInput, toListInput, toProtoDevice, toProtoStats, toUpdateInput, toListResponse } from './device-mapper.js';
import { watchDevicesHub, type WatchHub, type WatchOptions } from './watch-devices.js';
import type { CommandService } from '../commands/command-service.js';
import type { TwinService } from '../twin/twin-service.js';
import type { CommandChangeSource } from './command-change-source.js';
import { toListCommandsInput, toProtoCommand, toProtoTwin, toSendInput } from './command-mapper.js';
import { watchCommandsHub } from './watch-commands.js';
import { NotServedError, toGrpcStatus } from './error-mapper.js';
import type { TelemetryHistory } from '../domain/telemetry-history.js';
import { toTelemetryQuery, toTelemetryResponse } from './telemetry-mapper.js';

/** Commands and twin use cases, and the transitions WatchCommands relays. */
export interface DeviceControlPorts {
  readonly commands: Pick<CommandService, 'send' | 'get' | 'list' | 'cancel'>;
  readonly twins: Pick<TwinService, 'get' | 'updateDesired'>;
  readonly commandChanges: Pick<CommandChangeSource, 'subscribe'>;
}

import { createAlarmHandlers, type AlarmServicePort } from './alarm-handlers.js';
import { watchAlarmsHub, type AlarmWatchHub, type AlarmTransitionSource } from './watch-alarms.js';

/** The registry use cases the service calls. */
export type DeviceRegistryPort = Pick<DeviceRegistry, 'create' | 'get' | 'list' | 'update' | 'delete' | 'stats'>;

/** What the handlers run on. */
export interface DeviceServiceDeps {
  readonly registry: DeviceRegistryPort;
  readonly changes: ChangeSource;
  readonly alarms: { readonly service: AlarmServicePort; readonly transitions: AlarmTransitionSource };
  readonly context: CallContext;
  readonly watch?: WatchOptions;
  /** Without it the command and twin RPCs answer UNIMPLEMENTED. */
  readonly control?: DeviceControlPorts;
  /** Without it GetTelemetry answers UNIMPLEMENTED. */
  readonly telemetry?: Pick<TelemetryHistory, 'query'>;
}

/**
 * The handlers plus the hub of open WatchDevices streams.
 *
 * Cancellation and deadlines: guardUnary stops waiting the moment a call is cancelled or its
 * deadline passes (grpc-js has already sent CANCELLED / DEADLINE_EXCEEDED; the result is thrown
 * away), and each handler checks the signal after decoding, before the use case starts. A use
 * case already started is NOT aborted: neither DeviceRegistry nor the DeviceRepository /
 * StatsReader ports take an AbortSignal (the SDK would accept one in `send(command,
 * { abortSignal })`), and threading one through the domain core and both repositories is a
 * broad refactor of shared code. The leftover work is bounded instead, per call:
 * - GetDevice: one GetItem. CreateDevice: one conditional PutItem.
 * - UpdateDevice / DeleteDevice: one conditional write, plus one GetItem when its condition
 *   fails (to tell NOT_FOUND from ABORTED).
 * - GetDeviceStats: one BatchGetItem of the fixed set of summary items (unprocessed keys
 *   retried a fixed number of rounds).
 * - ListDevices: index Queries bounded by the page size (or the repository's evaluation
 *   budget with a type filter), one BatchGetItem, and the stats read above.
 * Each of those requests is limited by the SDK's own per-attempt timeouts
 * (DYNAMODB_CLIENT_LIMITS in config.ts: connect 1 s + request 3 s, 3 attempts), so a cancelled call's work ends within seconds and
 * never piles up. A cancelled write may still apply, as gRPC allows: a cancel racing the
 * response never tells the caller whether the write happened (retry with expected version).
 */
export function createDeviceServiceHandlers(deps: DeviceServiceDeps): {
  handlers: DeviceServiceHandlers;
  watchers: WatchHub;
  alarmWatchers: AlarmWatchHub;
  commandWatchers: { closeAll: WatchHub['closeAll'] };
} {
  const { registry, context } = deps;
  const watchers = watchDevicesHub(deps.changes, context, deps.watch);
  const alarmWatchers = watchAlarmsHub(deps.alarms.transitions, context, deps.watch);
  const control = deps.control;
  const need = (): DeviceControlPorts => {
    if (!control) throw new NotServedError('commands and twins are not served by this server');
    return control;
  };
  const commandWatchers = control
    ? watchCommandsHub(control.commandChanges, context, deps.watch)
    : { handle: (call: { emit(event: 'error', status: unknown): void }) => void call.emit('error', toGrpcStatus(new NotServedError('commands are not served by this server'))), closeAll: () => {} };
  const handlers: DeviceServiceHandlers = {
    CreateDevice: guardUnary(context, 'CreateDevice', async (request, signal) => {
      const input = toCreateInput(request);
      signal.throwIfAborted();
      return toProtoDevice(await registry.create(input));
    }),
    GetDevice: guardUnary(context, 'GetDevice', async (request) => toProtoDevice(await registry.get(request.id))),
    ListDevices: guardUnary(context, 'ListDevices', async (request, signal) => {
      const input = toListInput(request);
      signal.throwIfAborted();
      return toListResponse(await registry.list(input));
    }),
    UpdateDevice: guardUnary(context, 'UpdateDevice', async (request, signal) => {
      const input = toUpdateInput(request);
      signal.throwIfAborted();
      return toProtoDevice(await registry.update(input));
    }),
    DeleteDevice: guardUnary(context, 'DeleteDevice', async (request, signal) => {
      const version = fromInt64(request.version, 'version');
      signal.throwIfAborted();
      await registry.delete(request.id, version === 0 ? undefined : version);
      return {};
    }),
    GetDeviceStats: guardUnary(context, 'GetDeviceStats', async () => {
      const [stats, active] = await Promise.all([registry.stats(), deps.alarms.service.activeBySeverity()]);
      return toProtoStats(stats, active);
    }),
    WatchDevices: watchers.handle,
    SendCommand: guardUnary(context, 'SendCommand', async (request, signal, caller) => {
      const input = toSendInput(request);
      signal.throwIfAborted();
      return toProtoCommand(await need().commands.send(input, caller));
    }),
    GetCommand: guardUnary(context, 'GetCommand', async (request) => toProtoCommand(await need().commands.get(request.id))),
    ListCommands: guardUnary(context, 'ListCommands', async (request, signal) => {
      const input = toListCommandsInput(request);
      signal.throwIfAborted();
      const page = await need().commands.list(input);
      return { commands: page.items.map(toProtoCommand), nextPageToken: page.nextPageToken ?? '' };
    }),
    CancelCommand: guardUnary(context, 'CancelCommand', async (request, _signal, caller) => toProtoCommand(await need().commands.cancel(request.id, caller))),
    WatchCommands: commandWatchers.handle,
    GetTwin: guardUnary(context, 'GetTwin', async (request) => toProtoTwin(await need().twins.get(request.deviceId))),
    UpdateDesiredState: guardUnary(context, 'UpdateDesiredState', async (request, signal) => {
      const expected = fromInt64(request.expectedVersion, 'expected_version');
      signal.throwIfAborted();
      return toProtoTwin(await need().twins.updateDesired({ deviceId: request.deviceId, patch: request.patchJson, ...(expected !== 0 && { expectedVersion: expected }) }));
    }),
    GetTelemetry: guardUnary(context, 'GetTelemetry', async (request, signal) => {
      if (!deps.telemetry) throw new NotServedError('telemetry is not served by this server');
      const query = toTelemetryQuery(request);
      signal.throwIfAborted();
      return toTelemetryResponse(await deps.telemetry.query(query));
    }),
    ...createAlarmHandlers(deps.alarms.service, context, alarmWatchers),
  };
  return { handlers, watchers, alarmWatchers, commandWatchers };
}
