/** Turns a DynamoDB stream record of the Devices table into a domain DeviceChange. */
import type { AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isDeepStrictEqual } from 'node:util';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { CREDENTIAL_ATTRIBUTES } from './device-credentials-store.js';
import { fromDeviceItem, isDeviceItem } from './device-item.js';
import { WATCHED_UNTIL_ATTRIBUTE } from '../../contracts/live-updates.js';
import { padSequence } from '../../domain/change-sequence.js';
import type { Device } from '../../domain/device.js';
import type { DeviceChange } from '../../domain/device-change.js';

/**
 * The change a stream record (NEW_AND_OLD_IMAGES) describes, or undefined when neither image
 * is a device (another writer's item), the record is not a data change, or the device reads
 * the same before and after. Throws when a
 * device record has no SequenceNumber: without it the change could not be de-duplicated.
 */
export function toDeviceChange(record: DynamoDBRecord): DeviceChange | undefined {
  const data = record.dynamodb;
  if (!data) return undefined;
  const after = deviceOf(data.NewImage);
  const before = deviceOf(data.OldImage);
  if (!after && !before) return undefined;
  if (!data.SequenceNumber) throw new Error(`Stream record ${record.eventID ?? '?'} has no SequenceNumber`);
  const sequence = padSequence(data.SequenceNumber);
  const changedAt = new Date(
    data.ApproximateCreationDateTime !== undefined ? data.ApproximateCreationDateTime * 1000 : Date.now(),
  ).toISOString();
  // REMOVE (or a MODIFY that made the item stop being a device) is a deletion of the old device.
  if (record.eventName === 'REMOVE' || !after) return { changeType: 'DELETED', device: before!, changedAt, sequence };
  const watched = isWatched(data.NewImage, Date.parse(changedAt));
  // Only attributes outside the device moved (the watch mark, presence bookkeeping): nothing to tell anyone.
  if (before && isDeepStrictEqual(before, after)) return undefined;
  if (!before) return { changeType: 'CREATED', device: after, changedAt, sequence, ...(watched && { watched }) };
  return { changeType: 'UPDATED', device: after, previous: before, changedAt, sequence, ...(watched && { watched }) };
}

/** Whether the item carries a single-device watch that is still running at `atMs`. */
function isWatched(image: Record<string, AttributeValue> | undefined, atMs: number): boolean {
  const until = Number(image?.[WATCHED_UNTIL_ATTRIBUTE]?.N);
  return Number.isFinite(until) && until * 1000 > atMs;
}

/**
 * The certificates bound to a device a REMOVE record deleted (its old image's current and, when
 * a rotation was pending, pending certificate), or none for any other record: what the change
 * feed retires when a device goes.
 */
export function deletedCertificatesOf(record: DynamoDBRecord): string[] {
  if (record.eventName !== 'REMOVE') return [];
  const old = record.dynamodb?.OldImage;
  return [CREDENTIAL_ATTRIBUTES.certificateId, CREDENTIAL_ATTRIBUTES.pendingCertificateId].flatMap((attribute) => {
    const value = old?.[attribute];
    return value && 'S' in value && typeof value.S === 'string' && value.S ? [value.S] : [];
  });
}

function deviceOf(image: Record<string, AttributeValue> | undefined): Device | undefined {
  if (!image) return undefined;
  // The aws-lambda and SDK AttributeValue types describe the same wire JSON.
  const item = unmarshall(image as Record<string, SdkAttributeValue>);
  return isDeviceItem(item) ? fromDeviceItem(item) : undefined;
}
