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
import type { ReadingValue } from '../../domain/device.js';
import type {
  DeviceStateWriter,
  PresenceOutcome,
  PresenceUpdate,
  TelemetryStateOutcome,
  TelemetryStateUpdate,
} from '../../ports/device-state-writer.js';
import { isConditionalCheckFailed } from './dynamo-errors.js';

/** Options of {@link DynamoDbDeviceStateWriter}. */
export interface DeviceStateWriterOptions {
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

/** Readings per UpdateItem: `readings.#rN = :rN` is ~24 characters, so 100 stay under the 4 KB expression limit. */
const READINGS_PER_UPDATE = 100;

const isValidation = (error: unknown): boolean => (error as { name?: string })?.name === 'ValidationException';
// DynamoDB's words for an item that would pass 400 KB ("Item size to update has exceeded the
// maximum allowed size", "Item size has exceeded ..."): the same write can never succeed.
const isItemTooLarge = (error: unknown): boolean => isValidation(error) && /item size/i.test((error as Error).message ?? '');

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
   * by metric into the `readings` map; the first write of a device creates the map. The map
   * stays within `maxReadings`: the condition leaves room for every name of the update as if
   * all were new, so only a device near the bound pays a read ('full', then readingNames).
   */
  async recordTelemetry(update: TelemetryStateUpdate): Promise<TelemetryStateOutcome> {
    // One UpdateItem per 100 readings keeps each update expression under DynamoDB's 4 KB.
    const entries = Object.entries(update.readings);
    const chunks: Array<Array<[string, ReadingValue]>> = [];
    for (let i = 0; i < entries.length; i += READINGS_PER_UPDATE) chunks.push(entries.slice(i, i + READINGS_PER_UPDATE));
    if (chunks.length === 0) chunks.push([]);
    const isNew = ([name]: [string, ReadingValue]) => !update.storedNames?.has(name);
    for (let index = 0; index < chunks.length; index += 1) {
      // This chunk and every later one must still fit: the map grows by their new names.
      const added = chunks.slice(index).reduce((n, chunk) => n + chunk.filter(isNew).length, 0);
      const outcome = await this.writeReadings(update, Object.fromEntries(chunks[index]!), added, index === 0);
      if (outcome !== 'applied') return outcome;
    }
    return 'applied';
  }

  private async writeReadings(update: TelemetryStateUpdate, readings: Record<string, ReadingValue>, added: number, first: boolean): Promise<TelemetryStateOutcome> {
    const lastSeen = new Date(update.lastSeen).toISOString();
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':ls': lastSeen };
    const sets: string[] = [];
    Object.entries(readings).forEach(([metric, value], index) => {
      names[`#r${index}`] = metric;
      values[`:r${index}`] = value;
      sets.push(`readings.#r${index} = :r${index}`);
    });
    // Watched metrics' times ride on the same write (the first chunk carries them all).
    const times = first ? Object.entries(update.metricTimes ?? {}) : [];
    times.forEach(([metric, ts], index) => {
      names[`#s${index}`] = metric;
      values[`:s${index}`] = ts;
      sets.push(`metricSeenAt.#s${index} = :s${index}`);
    });
    const fresh = 'attribute_exists(id) AND (attribute_not_exists(lastSeen) OR lastSeen <= :ls)';
    const room = (update.maxReadings ?? Number.POSITIVE_INFINITY) - added;
    if (room < 0) return 'full';
    const bounded = added > 0 && Number.isFinite(room) ? ' AND (attribute_not_exists(readings) OR size(readings) <= :room)' : '';
    // 1st try: merge into the existing map. A missing map makes that path invalid
    // (ValidationException); then set the whole map, guarded so a concurrent creator wins.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await this.updateItem(update.deviceId, {
          UpdateExpression: sets.length > 0 ? `SET lastSeen = :ls, ${sets.join(', ')}` : 'SET lastSeen = :ls',
          ConditionExpression: fresh + bounded,
          ...(sets.length > 0 && { ExpressionAttributeNames: names }),
          ExpressionAttributeValues: bounded ? { ...values, ':room': room } : values,
        });
        return 'applied';
      } catch (error) {
        if (isConditionalCheckFailed(error)) {
          const item = await this.read(update.deviceId);
          if (!item) return 'unknown';
          if (typeof item.lastSeen === 'string' && item.lastSeen > lastSeen) return 'stale';
          return 'full';
        }
        if (isItemTooLarge(error)) return 'too-large';
        if (!isValidation(error)) throw unavailable('telemetry state write', error);
      }
      if (times.length > 0) {
        // A missing map (readings or metricSeenAt) made a path invalid: create the missing ones empty, then merge again.
        const ensured = await this.ensureMaps(update.deviceId);
        if (!ensured) return 'unknown';
        continue;
      }
      try {
        await this.updateItem(update.deviceId, {
          UpdateExpression: 'SET lastSeen = :ls, readings = :readings',
          ConditionExpression: `${fresh} AND attribute_not_exists(readings)`,
          ExpressionAttributeValues: { ':ls': lastSeen, ':readings': { ...readings } },
        });
        return 'applied';
      } catch (error) {
        if (isItemTooLarge(error)) return 'too-large';
        if (!isConditionalCheckFailed(error)) throw unavailable('telemetry state write', error);
        const item = await this.read(update.deviceId);
        if (!item) return 'unknown';
        if (typeof item.lastSeen === 'string' && item.lastSeen > lastSeen) return 'stale';
        // The map appeared concurrently: merge again.
      }
    }
    throw new UnavailableError(`telemetry state write for ${update.deviceId} kept conflicting`);
  }

  /** Creates the readings and metricSeenAt maps where absent; false when the device does not exist. */
  private async ensureMaps(id: string): Promise<boolean> {
    try {
      await this.updateItem(id, {
        UpdateExpression: 'SET readings = if_not_exists(readings, :empty), metricSeenAt = if_not_exists(metricSeenAt, :empty)',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':empty': {} },
      });
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw unavailable('telemetry state write', error);
    }
  }

  async readingNames(deviceId: string): Promise<ReadonlySet<string> | undefined> {
    try {
      const { Item } = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: { id: deviceId }, ConsistentRead: true, ProjectionExpression: 'id, readings' }),
      );
      if (!Item) return undefined;
      return new Set(Item.readings && typeof Item.readings === 'object' ? Object.keys(Item.readings as object) : []);
    } catch (error) {
      throw unavailable('device read', error);
    }
  }

  /**
   * Applies a lifecycle event only when it is newer than the last applied one, ordered by
   * (timestamp, versionNumber); a repeated event is not newer, so it changes nothing. The
   * first attempt assumes the status changes (and bumps version); if the item is already in
   * that status or in MAINTENANCE, the second attempt records the event without touching
   * status. Whatever the order of arrival, the item ends in the state of the newest event.
   */
  async recordPresence(update: PresenceUpdate): Promise<PresenceOutcome> {
    const newer = update.onlyAfterEvent
      ? '(presenceAt < :at OR (presenceAt = :at AND presenceVersion < :pv))'
      : '(attribute_not_exists(presenceAt) OR presenceAt < :at OR (presenceAt = :at AND presenceVersion < :pv))';
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
      // No lifecycle event ever set this status: an operator did, and it is theirs.
      if (update.onlyAfterEvent && typeof item.presenceAt !== 'number') return 'stale';
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
