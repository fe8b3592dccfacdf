/**
 * DeviceService handlers: each parses its request, calls one use case of the domain core and
 * maps the result. Typed from the generated DeviceServiceHandlers.
 */
import type { DeviceRegistry } from '../domain/device-registry.js';
import type { DeviceServiceHandlers } from '../generated/proto/iot/device/v1/DeviceService.js';
import type { ChangeSource } from '../ports/change-feed.js';
import { guardUnary, type CallContext } from './call-guard.js';
import { fromInt64, toCreateInput, toListInput, toProtoDevice, toProtoStats, toUpdateInput, toListResponse } from './device-mapper.js';
import { WatchHub, type WatchOptions } from './watch-devices.js';

/** The registry use cases the service calls. */
export type DeviceRegistryPort = Pick<DeviceRegistry, 'create' | 'get' | 'list' | 'update' | 'delete' | 'stats'>;

/** What the handlers run on. */
export interface DeviceServiceDeps {
  readonly registry: DeviceRegistryPort;
  readonly changes: ChangeSource;
  readonly context: CallContext;
  readonly watch?: WatchOptions;
}

/** The handlers plus the hub of open WatchDevices streams. */
export function createDeviceServiceHandlers(deps: DeviceServiceDeps): { handlers: DeviceServiceHandlers; watchers: WatchHub } {
  const { registry, context } = deps;
  const watchers = new WatchHub(deps.changes, context, deps.watch);
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
    GetDeviceStats: guardUnary(context, 'GetDeviceStats', async () => toProtoStats(await registry.stats())),
    WatchDevices: watchers.handle,
  };
  return { handlers, watchers };
}
