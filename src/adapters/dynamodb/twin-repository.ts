/**
 * Twins on DynamoDB: one item per device in the Twins table, both documents and their metadata
 * stored as JSON text (at most ~2 x 64 KB of documents plus compact metadata, well under the
 * 400 KB item limit), written with a version condition.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { JsonObject } from '../../domain/json-document.js';
import type { TwinRepository, TwinVersionMarker } from '../../ports/twin-repository.js';
import type { StoredMetaTree } from '../../twin/twin-document.js';
import type { StoredTwin } from '../../twin/twin.js';
import { isConditionalCheckFailed, mapDynamoError } from './dynamo-errors.js';

/** TwinRepository over the Twins table (TWINS_TABLE in tables.ts). */
export class DynamoDbTwinRepository implements TwinRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(deviceId: string): Promise<StoredTwin | undefined> {
    try {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { deviceId }, ConsistentRead: true }));
      if (!Item) return undefined;
      return {
        deviceId,
        desired: JSON.parse(String(Item.desired ?? '{}')) as JsonObject,
        reported: JSON.parse(String(Item.reported ?? '{}')) as JsonObject,
        desiredMetadata: JSON.parse(String(Item.desiredMetadata ?? '{}')) as StoredMetaTree,
        reportedMetadata: JSON.parse(String(Item.reportedMetadata ?? '{}')) as StoredMetaTree,
        version: Number(Item.version),
        ...(typeof Item.updatedAt === 'string' && { updatedAt: Item.updatedAt }),
      };
    } catch (error) {
      throw mapDynamoError(error, 'get twin');
    }
  }

  async put(twin: StoredTwin, previousVersion: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            deviceId: twin.deviceId,
            desired: JSON.stringify(twin.desired),
            reported: JSON.stringify(twin.reported),
            desiredMetadata: JSON.stringify(twin.desiredMetadata),
            reportedMetadata: JSON.stringify(twin.reportedMetadata),
            version: twin.version,
            ...(twin.updatedAt && { updatedAt: twin.updatedAt }),
          },
          ConditionExpression: previousVersion === 0 ? 'attribute_not_exists(deviceId)' : 'version = :previous',
          ...(previousVersion !== 0 && { ExpressionAttributeValues: { ':previous': previousVersion } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw mapDynamoError(error, 'write twin');
    }
  }
}

/** Raises `twinVersion` on the device's registry item, so the Devices stream (and deviceUpdated, WatchDevices) carries twin changes. */
export class DynamoDbTwinVersionMarker implements TwinVersionMarker {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly devicesTableName: string,
  ) {}

  async markTwinVersion(deviceId: string, version: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.devicesTableName,
          Key: { id: deviceId },
          UpdateExpression: 'SET twinVersion = :v',
          ConditionExpression: 'attribute_exists(id) AND (attribute_not_exists(twinVersion) OR twinVersion < :v)',
          ExpressionAttributeValues: { ':v': version },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) return;
      throw mapDynamoError(error, 'mark the twin version');
    }
  }
}
