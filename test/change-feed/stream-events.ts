/** Factories of DynamoDB stream records for the change-feed tests. */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { toDeviceItem } from '../../src/adapters/dynamodb/device-item.js';
import type { Device } from '../../src/domain/device.js';

export const SHARD_ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/Devices/stream/2026-01-01T00:00:00.000';

/** A test device (the shared factory, under the name the change-feed tests use). */
export { testDevice as device } from '../domain/test-device.js';

const image = (item: object | undefined) =>
  item && (marshall(item, { removeUndefinedValues: true }) as Record<string, AttributeValue>);

/** A record as Lambda receives it from a NEW_AND_OLD_IMAGES stream. */
export function streamRecord(
  sequence: number | string,
  before: object | undefined,
  after: object | undefined,
  eventSourceARN = SHARD_ARN,
): DynamoDBRecord {
  const keyOf = (after ?? before) as { id: string };
  return {
    eventID: `event-${sequence}`,
    eventName: !before ? 'INSERT' : !after ? 'REMOVE' : 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN,
    dynamodb: {
      ApproximateCreationDateTime: 1767225600,
      Keys: { id: { S: keyOf.id } },
      ...(after && { NewImage: image(after) }),
      ...(before && { OldImage: image(before) }),
      SequenceNumber: String(sequence),
      SizeBytes: 100,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

/** A record of a device's item (as the Devices table stores it). */
export function deviceRecord(sequence: number | string, before: Device | undefined, after: Device | undefined, arn?: string) {
  return streamRecord(sequence, before && toDeviceItem(before), after && toDeviceItem(after), arn);
}
