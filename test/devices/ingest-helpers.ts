/** Event factories and fixtures for the ingest and presence tests (one place, as Powertools' tests do). */
import { randomUUID } from 'node:crypto';
import type { KinesisStreamRecord } from 'aws-lambda';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { kinesisRecordFor } from '../../src/devices/kinesis-event.js';
import type { PresenceEvent } from '../../src/contracts/rules.js';

let sequence = 0;

/** A Kinesis record carrying `payload` from `thingName`, as the telemetry rule and the event source deliver it. */
export function telemetryRecord(thingName: string, payload: string | Uint8Array, receivedAt: number): KinesisStreamRecord {
  sequence += 1;
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return kinesisRecordFor(
    { payload: Buffer.from(bytes).toString('base64'), thingName, clientId: thingName, receivedAt },
    { sequenceNumber: String(49_600_000_000_000_000_000n + BigInt(sequence)), arrivalMs: receivedAt },
  );
}

/** A v1 telemetry payload. */
export function telemetryJson(seq: number, ts: number | string, metrics: Record<string, unknown>): string {
  return JSON.stringify({ v: 1, ts, seq, metrics });
}

/** Puts a registry-shaped device item straight into the Devices table. */
export async function seedDevice(
  doc: DynamoDBDocumentClient,
  table: string,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const id = (overrides.id as string | undefined) ?? randomUUID();
  const createdAt = '2026-01-01T00:00:00.000Z';
  await doc.send(
    new PutCommand({
      TableName: table,
      Item: {
        id,
        name: `device ${id.slice(0, 8)}`,
        type: 'sensor',
        status: 'OFFLINE',
        createdAt,
        updatedAt: createdAt,
        version: 1,
        metadata: {},
        listPk: 'DEVICE',
        createdKey: `${createdAt}#${id}`,
        ...overrides,
      },
    }),
  );
  return id;
}

/** An IoT lifecycle event as AWS documents it. */
export function presenceEvent(
  clientId: string,
  eventType: 'connected' | 'disconnected',
  timestamp: number,
  versionNumber: number,
  disconnectReason = 'CONNECTION_LOST',
): PresenceEvent {
  return {
    clientId,
    timestamp,
    eventType,
    sessionIdentifier: '00000000-0000-0000-0000-000000000000',
    principalIdentifier: 'cert-id',
    versionNumber,
    ...(eventType === 'disconnected' && { clientInitiatedDisconnect: disconnectReason === 'CLIENT_INITIATED_DISCONNECT', disconnectReason }),
  };
}
