/**
 * The single-device watch mark (WATCHED_UNTIL_ATTRIBUTE) as the local AppSync stand-in writes
 * it when a deviceUpdated(id) subscription starts; in the cloud the same UpdateItem is the
 * subscription's DynamoDB resolver (lib/api.ts).
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { WATCH_SECONDS, WATCHED_UNTIL_ATTRIBUTE } from '../../contracts/live-updates.js';

/** Marks device `id` watched for WATCH_SECONDS from `nowMs`; an unknown device is left alone (no item is created). */
export async function markDeviceWatched(doc: Pick<DynamoDBDocumentClient, 'send'>, tableName: string, id: string, nowMs = Date.now()): Promise<void> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { id },
        UpdateExpression: 'SET #watched = :until',
        ConditionExpression: 'attribute_exists(#id)',
        ExpressionAttributeNames: { '#watched': WATCHED_UNTIL_ATTRIBUTE, '#id': 'id' },
        ExpressionAttributeValues: { ':until': Math.floor(nowMs / 1000) + WATCH_SECONDS },
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
}
