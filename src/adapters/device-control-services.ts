/**
 * The commands and twin use cases over DynamoDB and a DeviceMessenger, composed the same way by
 * the cloud composition roots that serve both (resolver and device-control Lambdas, the gRPC
 * task). The command sweep Lambda builds its CommandService alone, keeping the twin out of its
 * bundle.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CommandService } from '../commands/command-service.js';
import type { PageTokenCodec } from '../domain/page-token.js';
import type { DeviceMessenger } from '../ports/device-messenger.js';
import { TwinService } from '../twin/twin-service.js';
import { DynamoDbCommandRepository } from './dynamodb/command-repository.js';
import { DynamoDbDeviceRepository } from './dynamodb/device-repository.js';
import { DynamoDbTwinRepository, DynamoDbTwinVersionMarker } from './dynamodb/twin-repository.js';
import { RegistryDevicePresence } from './registry-device-presence.js';

/** Table names the use cases run on. */
export interface DeviceControlTables {
  readonly devices: string;
  readonly commands: string;
  readonly twins: string;
}

/** Builds the commands and twin use cases. */
export function createDeviceControlServices(deps: {
  doc: DynamoDBDocumentClient;
  tables: DeviceControlTables;
  messenger: DeviceMessenger;
  pageTokens: PageTokenCodec;
  onDeliveryError?: (error: unknown, deviceId: string) => void;
}): { commands: CommandService; twins: TwinService } {
  const presence = new RegistryDevicePresence(new DynamoDbDeviceRepository(deps.doc, deps.tables.devices));
  const onDeliveryError = deps.onDeliveryError;
  return {
    commands: new CommandService({
      commands: new DynamoDbCommandRepository(deps.doc, deps.tables.commands),
      presence,
      messenger: deps.messenger,
      pageTokens: deps.pageTokens,
      ...(onDeliveryError && { onDeliveryError: (error: unknown, command: { deviceId: string }) => onDeliveryError(error, command.deviceId) }),
    }),
    twins: new TwinService({
      twins: new DynamoDbTwinRepository(deps.doc, deps.tables.twins),
      marker: new DynamoDbTwinVersionMarker(deps.doc, deps.tables.devices),
      presence,
      messenger: deps.messenger,
      ...(onDeliveryError && { onDeliveryError }),
    }),
  };
}
