/**
 * DeviceStateWriter over the Devices table: the ingest and presence pipelines' only writes
 * to it. Every write is one conditional UpdateItem that requires the item to exist, so
 * telemetry from an unknown thing never creates a device. Telemetry does not touch `version`
 * or any index key (no GSI write amplification on the hot path); presence changes `status`,
 * a registry field, so it increments `version` and sets `updatedAt` when the status changes.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { UnavailableError } from '../../domain/errors.js';
import type {
  DeviceStateWriter,
  PresenceOutcome,
  PresenceUpdate,
  TelemetryStateOutcome,
  TelemetryStateUpdate,
} from '../../devices/device-state.js';
import { isConditionalCheckFailed } from './dynamo-errors.js';

/** Options of {@link DynamoDbDeviceStateWriter}. */
export interface DeviceStateWriterOptions {
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

const isValidation = (error: unknown): boolean => (error as { name?: string })?.name === 'ValidationException';

/** Conditional device-state writes to the Devices table. */
export class DynamoDbDeviceStateWriter implements DeviceStateWriter {
  private readonly clock: () => Date;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DeviceStateWriterOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * lastSeen only moves forward: the condition refuses a batch older than what is stored
   * (a retried or out-of-order batch), and its readings with it. Readings are merged metric
   * by metric into the `readings` map; the first write of a device creates the map.
   */
  async recordTelemetry(update: TelemetryStateUpdate): Promise<TelemetryStateOutcome> {
    const lastSeen = new Date(update.lastSeen).toISOString();
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':ls': lastSeen };
    const sets: string[] = [];
    Object.entries(update.readings).forEach(([metric, value], index) => {
      names[`#r${index}`] = metric;
      values[`:r${index}`] = value;
      sets.push(`readings.#r${index} = :r${index}`);
    });
    const condition = 'attribute_exists(id) AND (attribute_not_exists(lastSeen) OR lastSeen <= :ls)';
    // 1st try: merge into the existing map. A missing map makes that path invalid
    // (ValidationException); then set the whole map, guarded so a concurrent creator wins.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await this.updateItem(update.deviceId, {
          UpdateExpression: sets.length > 0 ? `SET lastSeen = :ls, ${sets.join(', ')}` : 'SET lastSeen = :ls',
          ConditionExpression: condition,
          ...(sets.length > 0 && { ExpressionAttributeNames: names }),
          ExpressionAttributeValues: values,
        });
        return 'applied';
      } catch (error) {
        if (isConditionalCheckFailed(error)) return (await this.exists(update.deviceId)) ? 'stale' : 'unknown';
        if (!isValidation(error)) throw unavailable('telemetry state write', error);
      }
      try {
        await this.updateItem(update.deviceId, {
          UpdateExpression: 'SET lastSeen = :ls, readings = :readings',
          ConditionExpression: `${condition} AND attribute_not_exists(readings)`,
          ExpressionAttributeValues: { ':ls': lastSeen, ':readings': { ...update.readings } },
        });
        return 'applied';
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw unavailable('telemetry state write', error);
        const item = await this.read(update.deviceId);
        if (!item) return 'unknown';
        if (typeof item.lastSeen === 'string' && item.lastSeen > lastSeen) return 'stale';
        // The map appeared concurrently: merge again.
      }
    }
    throw new UnavailableError(`telemetry state write for ${update.deviceId} kept conflicting`);
  }

  /**
   * Applies a lifecycle event only when it is newer than the last applied one, ordered by
   * (timestamp, versionNumber); a repeated event is not newer, so it changes nothing. The
   * first attempt assumes the status changes (and bumps version); if the item is already in
   * that status or in MAINTENANCE, the second attempt records the event without touching
   * status. Whatever the order of arrival, the item ends in the state of the newest event.
   */
  async recordPresence(update: PresenceUpdate): Promise<PresenceOutcome> {
    const newer =
      '(attribute_not_exists(presenceAt) OR presenceAt < :at OR (presenceAt = :at AND presenceVersion < :pv))';
    const reason =
      update.status === 'OFFLINE' && update.disconnectReason !== undefined
        ? { set: ', disconnectReason = :reason', remove: '', values: { ':reason': update.disconnectReason } }
        : { set: '', remove: ' REMOVE disconnectReason', values: {} };
    const common = { ':at': update.at, ':pv': update.version, ':status': update.status, ':maintenance': 'MAINTENANCE', ...reason.values };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await this.updateItem(update.deviceId, {
          UpdateExpression:
            `SET #status = :status, presenceAt = :at, presenceVersion = :pv, updatedAt = :now${reason.set}` +
            ` ADD #version :one${reason.remove}`,
          ConditionExpression: `attribute_exists(id) AND #status <> :status AND #status <> :maintenance AND ${newer}`,
          ExpressionAttributeNames: { '#status': 'status', '#version': 'version' },
          ExpressionAttributeValues: { ...common, ':now': this.clock().toISOString(), ':one': 1 },
        });
        return 'applied';
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw unavailable('presence write', error);
      }
      try {
        await this.updateItem(update.deviceId, {
          UpdateExpression: `SET presenceAt = :at, presenceVersion = :pv${reason.set}${reason.remove}`,
          ConditionExpression: `attribute_exists(id) AND (#status = :status OR #status = :maintenance) AND ${newer}`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: common,
        });
        return 'recorded';
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw unavailable('presence write', error);
      }
      const item = await this.read(update.deviceId);
      if (!item) return 'unknown';
      const at = typeof item.presenceAt === 'number' ? item.presenceAt : -1;
      const version = typeof item.presenceVersion === 'number' ? item.presenceVersion : -1;
      if (at > update.at || (at === update.at && version >= update.version)) return 'stale';
      // The status changed between the two attempts: try again.
    }
    throw new UnavailableError(`presence write for ${update.deviceId} kept conflicting`);
  }

  /** One UpdateItem on the device's item; every write of this adapter is one. */
  private async updateItem(id: string, input: Omit<UpdateCommandInput, 'TableName' | 'Key'>): Promise<void> {
    await this.doc.send(new UpdateCommand({ TableName: this.tableName, Key: { id }, ...input }));
  }

  private async exists(id: string): Promise<boolean> {
    return (await this.read(id)) !== undefined;
  }

  private async read(id: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { Item } = await this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { id },
          ConsistentRead: true,
          ProjectionExpression: 'id, lastSeen, presenceAt, presenceVersion',
        }),
      );
      return Item;
    } catch (error) {
      throw unavailable('device read', error);
    }
  }
}

function unavailable(what: string, error: unknown): UnavailableError {
  return new UnavailableError(`${what} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
