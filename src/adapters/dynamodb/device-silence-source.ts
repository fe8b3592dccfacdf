/**
 * DeviceSilenceSource over the Devices table. Target listings read only the keys of the
 * byCreated / byType indexes (both KEYS_ONLY, so a page of 1,000 ids is a few read units);
 * silence is read with BatchGetItem of just the devices that may be due, projected to the
 * four attributes the sweep needs (billing is by item size all the same).
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { UnavailableError } from '../../domain/errors.js';
import type { AlarmTarget } from '../../alarms/alarm-rule.js';
import type { AlarmCursor } from '../../alarms/alarm-store.js';
import type { DeviceHeard, DeviceSilenceSource } from '../../alarms/device-silence.js';
import { batchGet, MAX_BATCH_GET_KEYS } from './batch-get.js';
import { LIST_PK } from './device-item.js';
import { mapDynamoError } from './dynamo-errors.js';

/** Device silence from the Devices table. */
export class DynamoDbDeviceSilenceSource implements DeviceSilenceSource {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async targetIds(target: AlarmTarget, limit: number, after?: AlarmCursor): Promise<{ ids: string[]; cursor?: AlarmCursor }> {
    if (target.kind === 'DEVICE') return { ids: after ? [] : [target.deviceId] };
    const byType = target.kind === 'DEVICE_TYPE';
    try {
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: byType ? 'byType' : 'byCreated',
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': byType ? 'type' : 'listPk' },
          ExpressionAttributeValues: { ':pk': byType ? target.deviceType : LIST_PK },
          Limit: limit,
          ...(after && { ExclusiveStartKey: after }),
        }),
      );
      const ids = (result.Items ?? []).map((item) => String(item.id));
      return { ids, ...(result.LastEvaluatedKey && { cursor: result.LastEvaluatedKey as AlarmCursor }) };
    } catch (error) {
      throw mapDynamoError(error, 'list devices of an alarm rule');
    }
  }

  async heard(ids: readonly string[]): Promise<Map<string, DeviceHeard>> {
    const out = new Map<string, DeviceHeard>();
    for (let i = 0; i < ids.length; i += MAX_BATCH_GET_KEYS) {
      const keys = [...new Set(ids.slice(i, i + MAX_BATCH_GET_KEYS))].map((id) => ({ id }));
      let items: Record<string, unknown>[];
      try {
        items = await batchGet(this.doc, this.tableName, keys, { projection: 'id, createdAt, lastSeen, metricSeenAt' });
      } catch (error) {
        throw error instanceof UnavailableError ? error : mapDynamoError(error, 'read device silence');
      }
      for (const item of items) {
        const seen = item.metricSeenAt && typeof item.metricSeenAt === 'object' ? (item.metricSeenAt as Record<string, unknown>) : {};
        out.set(String(item.id), {
          id: String(item.id),
          createdAt: Date.parse(String(item.createdAt)),
          ...(typeof item.lastSeen === 'string' && { lastSeen: Date.parse(item.lastSeen) }),
          metricSeenAt: Object.fromEntries(Object.entries(seen).filter((e): e is [string, number] => typeof e[1] === 'number')),
        });
      }
    }
    return out;
  }
}
