import { GetThingConnectivityDataCommand } from '@aws-sdk/client-iot';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { DynamoDbDeviceStateWriter } from '../../src/adapters/dynamodb/device-state-writer.js';
import { IotConnectivitySource, type IotConnectivitySender } from '../../src/adapters/iot/iot-connectivity.js';
import { PRESENCE_RECONCILER_METRICS } from '../../src/contracts/metrics.js';
import { composePresenceReconcilerFunction } from '../../src/functions/presence-reconciler-function.js';
import type { Logger } from '../../src/ports/logger.js';
import type { MetricsRecorder } from '../../src/ports/metrics.js';
import { startDynamoFixture, type DynamoFixture } from '../adapters/dynamodb/dynamo-fixture.js';
import { testDevice } from '../domain/test-device.js';

const id = (n: number) => `00000000-0000-4000-8000-0000000c0${String(n).padStart(3, '0')}`;

/** An IoT error as the SDK throws it. */
function iotError(name: string): Error {
  return Object.assign(new Error(`${name} from IoT`), { name, $metadata: {} });
}

describe('presence reconciler function (cloud truth: GetThingConnectivityData)', () => {
  let fixture: DynamoFixture;
  beforeAll(async () => {
    fixture = await startDynamoFixture();
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  it('pages the ONLINE devices, asks IoT about each at most 2 at a time through throttling, and sets OFFLINE only those IoT has no connection for', async () => {
    // Prepare: 7 ONLINE devices (one just changed), 1 OFFLINE; IoT answers per device
    const repository = new DynamoDbDeviceRepository(fixture.doc, fixture.devicesTable);
    const minuteAgo = Date.now() - 60_000;
    const past = new DynamoDbDeviceStateWriter(fixture.doc, fixture.devicesTable, { clock: () => new Date(minuteAgo) });
    const writer = new DynamoDbDeviceStateWriter(fixture.doc, fixture.devicesTable);
    for (let n = 1; n <= 8; n += 1) await repository.create(testDevice(id(n), { createdAt: new Date(minuteAgo + n).toISOString() }));
    for (let n = 1; n <= 6; n += 1) await past.recordPresence({ deviceId: id(n), status: 'ONLINE', at: minuteAgo, version: 1 });
    await writer.recordPresence({ deviceId: id(7), status: 'ONLINE', at: Date.now(), version: 1 });
    const disconnectedAt = new Date(minuteAgo + 1_000);
    const requests: string[] = [];
    let inFlight = 0;
    let peak = 0;
    let throttled = 0;
    const answers: Record<string, () => Promise<unknown>> = {
      [id(1)]: async () => ({ thingName: id(1), connected: true, timestamp: new Date(minuteAgo) }),
      [id(2)]: async () => ({ thingName: id(2), connected: false, timestamp: disconnectedAt, disconnectReason: 'MQTT_KEEP_ALIVE_TIMEOUT' }),
      [id(3)]: async () => ({ thingName: id(3), connected: false }),
      [id(4)]: async () => {
        if (throttled < 2) {
          throttled += 1;
          throw iotError('ThrottlingException');
        }
        return { thingName: id(4), connected: false, timestamp: disconnectedAt, disconnectReason: 'CONNECTION_LOST' };
      },
      [id(5)]: async () => {
        throw iotError('ResourceNotFoundException');
      },
      // A connected event arrives while IoT still reports the older disconnect: the event wins.
      [id(6)]: async () => {
        await writer.recordPresence({ deviceId: id(6), status: 'ONLINE', at: disconnectedAt.getTime() + 1, version: 2 });
        return { thingName: id(6), connected: false, timestamp: disconnectedAt, disconnectReason: 'CLIENT_ERROR' };
      },
    };
    const iot: IotConnectivitySender = {
      send: (async (command: GetThingConnectivityDataCommand) => {
        if (!(command instanceof GetThingConnectivityDataCommand)) throw new Error(`unexpected ${(command as object).constructor.name}`);
        requests.push(JSON.stringify(command.input));
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        try {
          await new Promise((resolve) => setImmediate(resolve));
          return await answers[command.input.thingName!]!();
        } finally {
          inFlight -= 1;
        }
      }) as IotConnectivitySender['send'],
    };
    const counts: Record<string, number> = {};
    const metrics: MetricsRecorder = { count: (name, value) => void (counts[name] = (counts[name] ?? 0) + value), flush: () => undefined };
    const lines: Array<{ message: string; fields: unknown }> = [];
    const record = (message: string, ...fields: unknown[]) => void lines.push({ message, fields: fields[0] });
    const logger: Logger = { debug: record, info: record, warn: record, error: record };
    const skipped: string[] = [];
    const reconcile = composePresenceReconcilerFunction({
      repository,
      devices: writer,
      truth: new IotConnectivitySource(iot, { concurrency: 2, random: () => 0.5, baseDelayMs: 2, onSkipped: (thing, why) => skipped.push(`${thing}: ${why}`) }),
      logger,
      metrics,
      pageSize: 2,
    });

    // Act
    const summary = await reconcile();

    // Assess
    expect(summary).toEqual({ checked: 6, corrected: 3, debounced: 1 });
    expect(requests.sort()).toEqual(
      [1, 2, 3, 4, 4, 4, 5, 6].map((n) => JSON.stringify({ thingName: id(n) })).sort(),
    );
    expect(peak).toBeLessThanOrEqual(2);
    expect(skipped).toEqual([`${id(5)}: no such thing in IoT`]);
    // The reason is kept on the item (the device model does not carry it).
    const after = async (n: number) => {
      const { Item } = await fixture.doc.send(new GetCommand({ TableName: fixture.devicesTable, Key: { id: id(n) }, ConsistentRead: true }));
      return `${Item!.status as string}${Item!.disconnectReason ? ` ${Item!.disconnectReason as string}` : ''}`;
    };
    expect(await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(after))).toEqual([
      'ONLINE',
      'OFFLINE MQTT_KEEP_ALIVE_TIMEOUT',
      'OFFLINE CONNECTION_LOST',
      'OFFLINE CONNECTION_LOST',
      'ONLINE',
      'ONLINE',
      'ONLINE',
      'OFFLINE',
    ]);
    expect(counts).toEqual({ [PRESENCE_RECONCILER_METRICS.checked]: 6, [PRESENCE_RECONCILER_METRICS.corrections]: 3 });
    expect(lines.filter((l) => l.message === 'Presence corrected').map((l) => (l.fields as { deviceId: string }).deviceId).sort()).toEqual([id(2), id(3), id(4)]);
    expect(lines.at(-1)).toEqual({ message: 'Presence reconciled', fields: { checked: 6, corrected: 3, debounced: 1 } });
  });

  it('fails the run with IoT\'s own error when connectivity indexing is off, correcting nobody', async () => {
    // Prepare
    const repository = new DynamoDbDeviceRepository(fixture.doc, fixture.devicesTable);
    const minuteAgo = Date.now() - 60_000;
    const past = new DynamoDbDeviceStateWriter(fixture.doc, fixture.devicesTable, { clock: () => new Date(minuteAgo) });
    await repository.create(testDevice(id(100)));
    await past.recordPresence({ deviceId: id(100), status: 'ONLINE', at: minuteAgo, version: 1 });
    const iot: IotConnectivitySender = {
      send: (async () => {
        throw iotError('IndexNotReadyException');
      }) as IotConnectivitySender['send'],
    };
    const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    const reconcile = composePresenceReconcilerFunction({
      repository,
      devices: new DynamoDbDeviceStateWriter(fixture.doc, fixture.devicesTable),
      truth: new IotConnectivitySource(iot),
      logger: quiet,
      metrics: { count: () => undefined, flush: () => undefined },
    });

    // Act / Assess
    await expect(reconcile()).rejects.toThrow('IndexNotReadyException from IoT');
    expect((await repository.get(id(100)))!.status).toBe('ONLINE');
  });
});
