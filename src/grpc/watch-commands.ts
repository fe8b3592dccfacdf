/** WatchCommands: every command transition, filtered by device id, through the bounded watch hub. */
import type { CommandChange } from '../commands/command-change.js';
import type { WatchCommandsResponse } from '../generated/proto/iot/device/v1/WatchCommandsResponse.js';
import type { CallContext } from './call-guard.js';
import type { CommandChangeSource } from './command-change-source.js';
import { toWatchCommandsResponse } from './command-mapper.js';
import { BoundedWatchHub } from './watch-hub.js';
import type { WatchOptions } from './watch-devices.js';

/** The WatchCommands hub over `source`. */
export function watchCommandsHub(source: Pick<CommandChangeSource, 'subscribe'>, context: CallContext, options: WatchOptions = {}): BoundedWatchHub<CommandChange, WatchCommandsResponse> {
  return new BoundedWatchHub(source, context, {
    method: 'WatchCommands',
    unit: 'transitions',
    deviceOf: (change) => change.command.deviceId,
    toMessage: toWatchCommandsResponse,
    ...(options.maxQueued !== undefined && { maxQueued: options.maxQueued }),
    ...(options.fanoutChunk !== undefined && { chunk: options.fanoutChunk }),
  });
}
