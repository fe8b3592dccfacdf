import { describe, expect, it } from 'vitest';
import { toDeviceChange } from '../../../src/adapters/dynamodb/device-stream-record.js';
import { padSequence } from '../../../src/domain/change-sequence.js';
import { device, deviceRecord, streamRecord } from '../../change-feed/stream-events.js';

const ID = '00000000-0000-4000-8000-000000000001';

describe('toDeviceChange', () => {
  it('returns CREATED, UPDATED and DELETED changes with padded sequences', () => {
    // Prepare
    const v1 = device(ID, { metadata: { site: 'x' } });
    const v2 = device(ID, { status: 'ONLINE', version: 2, lastSeen: '2026-01-02T00:00:00.000Z', readings: { t: 21.5, ok: true } });

    // Act
    const created = toDeviceChange(deviceRecord('111', undefined, v1));
    const updated = toDeviceChange(deviceRecord('222', v1, v2));
    const deleted = toDeviceChange(deviceRecord('333', v2, undefined));

    // Assess
    expect(created).toEqual({ changeType: 'CREATED', device: v1, changedAt: '2026-01-01T00:00:00.000Z', sequence: padSequence('111') });
    expect(updated).toMatchObject({ changeType: 'UPDATED', device: v2, previous: v1 });
    expect(deleted).toMatchObject({ changeType: 'DELETED', device: v2, sequence: '0'.repeat(45) + '333' });
    expect(deleted).not.toHaveProperty('previous');
  });

  it('ignores records whose images are not devices', () => {
    // Act
    const change = toDeviceChange(streamRecord('5', undefined, { id: 'x', pk: 'something else' }));

    // Assess
    expect(change).toBeUndefined();
  });

  it('throws for a device record without a sequence number', () => {
    // Prepare
    const record = deviceRecord('7', undefined, device(ID));
    delete record.dynamodb!.SequenceNumber;

    // Act / Assess
    expect(() => toDeviceChange(record)).toThrow(/no SequenceNumber/);
  });
});
