/** Turns a DynamoDB stream record of the Commands table into a CommandChange when it is a status transition. */
import type { AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { fromCommandItem, isCommandItem } from './command-item.js';
import type { Command } from '../../commands/command.js';
import type { CommandChange } from '../../commands/command-change.js';
import { padSequence } from '../../domain/change-sequence.js';

/** Whether a record's images are commands (the events handler then never reads it as a device). */
export function isCommandRecord(record: DynamoDBRecord): boolean {
  return commandOf(record.dynamodb?.NewImage) !== undefined || commandOf(record.dynamodb?.OldImage) !== undefined;
}

/**
 * The change a command record describes when its status moved (or the command was created);
 * undefined for writes that leave the status as it was (delivery bookkeeping, a late answer),
 * so watchers see each transition exactly once.
 */
export function toCommandChange(record: DynamoDBRecord): CommandChange | undefined {
  const data = record.dynamodb;
  if (!data || record.eventName === 'REMOVE') return undefined;
  const after = commandOf(data.NewImage);
  if (!after) return undefined;
  const before = commandOf(data.OldImage);
  if (before && before.status === after.status) return undefined;
  if (!data.SequenceNumber) throw new Error(`Stream record ${record.eventID ?? '?'} has no SequenceNumber`);
  const changedAt = new Date(data.ApproximateCreationDateTime !== undefined ? data.ApproximateCreationDateTime * 1000 : Date.now()).toISOString();
  return { command: after, ...(before && { previousStatus: before.status }), changedAt, sequence: padSequence(data.SequenceNumber) };
}

function commandOf(image: Record<string, AttributeValue> | undefined): Command | undefined {
  if (!image) return undefined;
  const item = unmarshall(image as Record<string, SdkAttributeValue>);
  return isCommandItem(item) ? fromCommandItem(item) : undefined;
}
