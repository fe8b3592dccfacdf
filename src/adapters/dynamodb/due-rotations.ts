/**
 * DueRotationSource over the Devices table's sparse `byGraceEnd` index: one partition holding
 * only the devices with a rotation pending, sorted by grace end, so a run reads exactly the due
 * ones (grace end at or before now) and never a scan. Grace ends are ISO-8601 UTC strings of
 * one width, so their string order is their time order.
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ROTATION_DUE_ATTRIBUTE, ROTATION_DUE_INDEX, ROTATION_DUE_PARTITION } from '../../contracts/rotation-sweep.js';
import type { DueRotationSource } from '../../ports/due-rotations.js';
import { CREDENTIAL_ATTRIBUTES } from './device-credentials-store.js';
import { mapDynamoError } from './dynamo-errors.js';

/** Due rotations from the Devices table. */
export class DynamoDbDueRotations implements DueRotationSource {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async *pages(now: Date, pageSize: number): AsyncIterable<readonly string[]> {
    let startKey: Record<string, unknown> | undefined;
    do {
      let page: { Items?: Array<Record<string, unknown>>; LastEvaluatedKey?: Record<string, unknown> };
      try {
        page = await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: ROTATION_DUE_INDEX,
            KeyConditionExpression: '#due = :due AND #graceEndsAt <= :now',
            ExpressionAttributeNames: { '#due': ROTATION_DUE_ATTRIBUTE, '#graceEndsAt': CREDENTIAL_ATTRIBUTES.graceEndsAt },
            ExpressionAttributeValues: { ':due': ROTATION_DUE_PARTITION, ':now': now.toISOString() },
            Limit: pageSize,
            ...(startKey && { ExclusiveStartKey: startKey }),
          }),
        );
      } catch (error) {
        throw mapDynamoError(error, 'list due certificate rotations');
      }
      const ids = (page.Items ?? []).map((item) => String(item.id));
      if (ids.length > 0) yield ids;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}
