/**
 * WatchCommands: relays every command transition to the stream, filtered by device id, with
 * the same bounded queue as WatchDevices: a consumer that falls `maxQueued` transitions behind
 * gets RESOURCE_EXHAUSTED, so memory per stream never grows without bound.
 */
import { Metadata, type ServerWritableStream, type StatusObject } from '@grpc/grpc-js';
import { ValidationError } from '../domain/errors.js';
import { validateDeviceId } from '../domain/validation.js';
import type { WatchCommandsRequest__Output } from '../generated/proto/iot/device/v1/WatchCommandsRequest.js';
import type { WatchCommandsResponse } from '../generated/proto/iot/device/v1/WatchCommandsResponse.js';
import { cancelCode, rejectRequest, type CallContext } from './call-guard.js';
import type { CommandChangeSource } from './command-change-source.js';
import { toWatchCommandsResponse } from './command-mapper.js';
import { REFUSAL_CODES, statusName, toGrpcStatus } from './error-mapper.js';
import { MAX_WATCH_IDS } from './watch-devices.js';

type WatchCall = ServerWritableStream<WatchCommandsRequest__Output, WatchCommandsResponse>;

/** The WatchCommands handler over `source`; `closeAll` ends every open stream (shutdown). */
export function watchCommandsHandler(source: Pick<CommandChangeSource, 'subscribe'>, context: CallContext, maxQueued = 256) {
  const streams = new Set<(status: Pick<StatusObject, 'code' | 'details'>) => void>();
  const handle = (call: WatchCall): void => {
    const started = performance.now();
    let delivered = 0;
    const log = (code: number, details?: string): void =>
      context.log.info('rpc', { method: 'WatchCommands', code: statusName(code), durationMs: Math.round(performance.now() - started), delivered, ...(details && { details }) });
    const refused = rejectRequest(call.request, call.metadata);
    if (refused) {
      call.emit('error', refused);
      return log(refused.code, refused.details);
    }
    let filter: Set<string> | undefined;
    try {
      const ids = call.request.deviceIds;
      if (ids.length > MAX_WATCH_IDS) throw new ValidationError(`device_ids has ${ids.length} entries; at most ${MAX_WATCH_IDS} allowed`, 'device_ids');
      filter = ids.length === 0 ? undefined : new Set(ids.map((id, i) => validateDeviceId(id, `device_ids[${i}]`)));
    } catch (error) {
      const status = toGrpcStatus(error);
      call.emit('error', status);
      return log(status.code, status.details);
    }
    let ended = false;
    let writable = true;
    const queue: WatchCommandsResponse[] = [];
    const finish = (status?: Pick<StatusObject, 'code' | 'details'>): void => {
      if (ended) return;
      ended = true;
      unsubscribe();
      streams.delete(finish);
      call.removeListener('drain', drain);
      queue.length = 0;
      if (status) {
        call.emit('error', status);
        log(status.code, status.details);
      } else log(cancelCode(call));
    };
    const drain = (): void => {
      writable = true;
      while (writable && queue.length > 0 && !ended) {
        writable = call.write(queue.shift()!);
        delivered += 1;
      }
    };
    const unsubscribe = source.subscribe((change) => {
      if (ended || (filter && !filter.has(change.command.deviceId))) return;
      const message = toWatchCommandsResponse(change);
      if (writable && queue.length === 0) {
        writable = call.write(message);
        delivered += 1;
        return;
      }
      queue.push(message);
      if (queue.length > maxQueued) finish({ code: REFUSAL_CODES.consumerTooSlow, details: `consumer fell more than ${maxQueued} transitions behind` });
    });
    streams.add(finish);
    call.on('drain', drain);
    call.once('cancelled', () => finish());
    // Headers now, so a watcher knows it is subscribed before the first transition arrives.
    call.sendMetadata(new Metadata());
  };
  return {
    handle,
    closeAll(status: Pick<StatusObject, 'code' | 'details'>): void {
      for (const close of [...streams]) close(status);
    },
  };
}
