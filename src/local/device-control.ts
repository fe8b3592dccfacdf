/**
 * Commands and twins in the local runtime: the same use cases the Lambdas compose, over the
 * platform's tables, publishing to devices through the embedded broker once it runs (the
 * GraphQL door starts before it), and the sweep (timeouts and re-drive) on a one-second timer
 * where the cloud runs it on a schedule.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { busDeviceMessenger } from '../adapters/iot/bus-device-messenger.js';
import { DynamoDbCommandRepository } from '../adapters/dynamodb/command-repository.js';
import { DynamoDbTwinRepository, DynamoDbTwinVersionMarker } from '../adapters/dynamodb/twin-repository.js';
import { RegistryDevicePresence } from '../adapters/registry-device-presence.js';
import { CommandService } from '../commands/command-service.js';
import { UnavailableError } from '../domain/errors.js';
import type { PageTokenCodec } from '../domain/page-token.js';
import type { DeviceMessenger } from '../ports/device-messenger.js';
import type { DeviceRepository } from '../ports/device-repository.js';
import type { MessageBus } from '../ports/message-bus.js';
import { TwinService } from '../twin/twin-service.js';

/** How often the local sweep looks for overdue commands. */
export const LOCAL_TIMEOUT_SWEEP_MS = 1000;

/** Options of {@link createLocalDeviceControl}. */
export interface LocalDeviceControlOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly tables: { readonly devices: string; readonly commands: string; readonly twins: string };
  readonly devices: Pick<DeviceRepository, 'get'>;
  readonly pageTokens: PageTokenCodec;
  readonly log?: (line: string) => void;
  /** @default LOCAL_TIMEOUT_SWEEP_MS */
  readonly sweepMs?: number;
  /** How long a waiting command waits before the sweep re-drives it. @default DEFAULT_REDRIVE_AFTER_MS */
  readonly redriveAfterMs?: number;
}

/** The local commands and twin use cases. */
export interface LocalDeviceControl {
  readonly commands: CommandService;
  readonly twins: TwinService;
  /** Starts publishing to devices through `bus` and sweeping timeouts. */
  start(bus: Pick<MessageBus, 'publish'>): void;
  stop(): Promise<void>;
}

/** Composes the commands and twin use cases of the local platform. */
export function createLocalDeviceControl(options: LocalDeviceControlOptions): LocalDeviceControl {
  const log = options.log ?? (() => undefined);
  let target: DeviceMessenger | undefined;
  const messenger: DeviceMessenger = {
    send: (message) => (target ? target.send(message) : Promise.reject(new UnavailableError('the local broker is not running'))),
  };
  const presence = new RegistryDevicePresence(options.devices);
  const commands = new CommandService({
    commands: new DynamoDbCommandRepository(options.doc, options.tables.commands),
    presence,
    messenger,
    pageTokens: options.pageTokens,
    onDeliveryError: (error, command) => log(`commands: delivery of ${command.id} to ${command.deviceId} failed, queued again: ${String(error)}`),
    ...(options.redriveAfterMs !== undefined && { redriveAfterMs: options.redriveAfterMs }),
  });
  const twins = new TwinService({
    twins: new DynamoDbTwinRepository(options.doc, options.tables.twins),
    marker: new DynamoDbTwinVersionMarker(options.doc, options.tables.devices),
    presence,
    messenger,
    onDeliveryError: (error, deviceId) => log(`twin: delta to ${deviceId} not sent: ${String(error)}`),
  });

  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;
  const sweep = () => {
    // One sweep at a time: a slow one is not overlapped by the next tick.
    sweeping ??= commands
      .sweep()
      .then(({ timedOut, redelivered, parked, gaveUp }) => {
        if (timedOut > 0) log(`commands: ${timedOut} command(s) timed out`);
        if (redelivered > 0) log(`commands: ${redelivered} command(s) re-driven to ONLINE devices`);
        if (parked > 0) log(`commands: ${parked} command(s) wait for their OFFLINE device's next subscription`);
        if (gaveUp > 0) log(`commands: ${gaveUp} command(s) FAILED after repeated failed publishes`);
      })
      .catch((error: unknown) => log(`commands: timeout sweep failed: ${String(error)}`))
      .finally(() => (sweeping = undefined));
  };
  return {
    commands,
    twins,
    start(bus) {
      target = busDeviceMessenger(bus);
      timer ??= setInterval(sweep, options.sweepMs ?? LOCAL_TIMEOUT_SWEEP_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      target = undefined;
      await sweeping;
    },
  };
}
