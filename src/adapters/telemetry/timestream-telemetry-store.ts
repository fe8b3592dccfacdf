/**
 * TelemetryWriter on Amazon Timestream for LiveAnalytics (the `timestream` telemetryStore).
 *
 * One multi-measure record per reading (measure name `telemetry`, one measure per metric).
 * Timestream bills writes by the bytes of dimensions, measures and timestamps per request in
 * 1 KiB units, and anything in CommonAttributes is counted once per request, so:
 *   - a device with >= 100 readings in the batch gets requests of its own with the `device`
 *     dimension in CommonAttributes;
 *   - everyone else's readings are pooled 100 per request with `device` on each record
 *     (a request per device would cost a 1 KiB write for a handful of readings).
 * Time = ts in microseconds plus (seq mod 1000), so two readings of one device in the same
 * millisecond stay distinct while a redelivered (device, seq) lands on the same point;
 * Version = seq + 1 (Timestream's default version is 1), so the redelivery is an idempotent upsert.
 * RejectedRecordsException: the other records of the request are stored; each rejected one
 * is reported back (the ingest handler dead-letters it). ThrottlingException and internal
 * errors are retried with exponential backoff and full jitter, then UnavailableError.
 */
import {
  type _Record,
  type MeasureValue,
  type TimestreamWriteClient,
  WriteRecordsCommand,
  type WriteRecordsRequest,
} from '@aws-sdk/client-timestream-write';
import type { ReadingValue } from '../../domain/device.js';
import { UnavailableError } from '../../domain/errors.js';
import type { RejectedPoint, TelemetryPoint, TelemetryWriter, TelemetryWriteResult } from '../../ports/telemetry-store.js';

/** Options of {@link TimestreamTelemetryStore}. */
export interface TimestreamTelemetryStoreOptions {
  readonly databaseName: string;
  readonly tableName: string;
  /** Attempts per request on throttling. @default 6 */
  readonly maxAttempts?: number;
  /** First backoff in ms (doubles per attempt). @default 100 */
  readonly backoffMs?: number;
  /** Concurrent WriteRecords calls. @default 4 */
  readonly concurrency?: number;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** WriteRecords accepts at most 100 records per call. */
export const MAX_RECORDS_PER_WRITE = 100;
/** The measure name of every telemetry record. */
export const TELEMETRY_MEASURE_NAME = 'telemetry';
/** The dimension naming the device. */
export const DEVICE_DIMENSION = 'device';

const RETRYABLE = new Set(['ThrottlingException', 'InternalServerException', 'ServiceUnavailable']);

interface Request {
  readonly input: WriteRecordsRequest;
  readonly points: readonly TelemetryPoint[];
}

/** Telemetry in Timestream (write side). */
export class TimestreamTelemetryStore implements TelemetryWriter {
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly concurrency: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: TimestreamWriteClient,
    private readonly options: TimestreamTelemetryStoreOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 6;
    this.backoffMs = options.backoffMs ?? 100;
    this.concurrency = options.concurrency ?? 4;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async write(points: readonly TelemetryPoint[]): Promise<TelemetryWriteResult> {
    const requests = this.plan(points);
    const rejected: RejectedPoint[] = [];
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const request = requests[next]!;
        next += 1;
        rejected.push(...(await this.send(request)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, requests.length) }, worker));
    return { rejected };
  }

  /** Splits points into WriteRecords requests of at most 100 records (see the file comment). */
  plan(points: readonly TelemetryPoint[]): Request[] {
    const byDevice = new Map<string, TelemetryPoint[]>();
    for (const point of points) {
      const list = byDevice.get(point.deviceId);
      if (list) list.push(point);
      else byDevice.set(point.deviceId, [point]);
    }
    const requests: Request[] = [];
    const pooled: TelemetryPoint[] = [];
    for (const [deviceId, list] of byDevice) {
      let i = 0;
      for (; i + MAX_RECORDS_PER_WRITE <= list.length; i += MAX_RECORDS_PER_WRITE) {
        const chunk = list.slice(i, i + MAX_RECORDS_PER_WRITE);
        requests.push({ points: chunk, input: this.request(chunk.map((p) => toRecord(p, false)), deviceId) });
      }
      pooled.push(...list.slice(i));
    }
    for (let i = 0; i < pooled.length; i += MAX_RECORDS_PER_WRITE) {
      const chunk = pooled.slice(i, i + MAX_RECORDS_PER_WRITE);
      requests.push({ points: chunk, input: this.request(chunk.map((p) => toRecord(p, true))) });
    }
    return requests;
  }

  private request(records: _Record[], deviceId?: string): WriteRecordsRequest {
    return {
      DatabaseName: this.options.databaseName,
      TableName: this.options.tableName,
      CommonAttributes: {
        MeasureName: TELEMETRY_MEASURE_NAME,
        MeasureValueType: 'MULTI',
        TimeUnit: 'MICROSECONDS',
        ...(deviceId !== undefined && { Dimensions: [{ Name: DEVICE_DIMENSION, Value: deviceId, DimensionValueType: 'VARCHAR' }] }),
      },
      Records: records,
    };
  }

  private async send(request: Request): Promise<RejectedPoint[]> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.client.send(new WriteRecordsCommand(request.input));
        return [];
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        if (name === 'RejectedRecordsException') {
          const records = (error as { RejectedRecords?: Array<{ RecordIndex?: number; Reason?: string; ExistingVersion?: number }> })
            .RejectedRecords ?? [];
          return records.flatMap((r) => {
            const point = r.RecordIndex === undefined ? undefined : request.points[r.RecordIndex];
            if (!point) return [];
            const existing = r.ExistingVersion === undefined ? '' : ` (existing version ${r.ExistingVersion})`;
            return [{ point, reason: `Timestream rejected the record: ${r.Reason ?? 'no reason given'}${existing}` }];
          });
        }
        if (!RETRYABLE.has(name) || attempt >= this.maxAttempts) {
          throw new UnavailableError(`Timestream WriteRecords failed (${name || 'error'}): ${(error as Error).message}`, { cause: error });
        }
        await this.sleep(Math.random() * this.backoffMs * 2 ** (attempt - 1));
      }
    }
  }
}

/** One multi-measure record of a reading. */
function toRecord(point: TelemetryPoint, withDevice: boolean): _Record {
  return {
    ...(withDevice && { Dimensions: [{ Name: DEVICE_DIMENSION, Value: point.deviceId, DimensionValueType: 'VARCHAR' }] }),
    Time: String(point.ts * 1000 + (point.seq % 1000)),
    Version: point.seq + 1,
    MeasureValues: Object.entries(point.metrics).map(([name, value]) => measure(name, value)),
  };
}

function measure(name: string, value: ReadingValue): MeasureValue {
  if (typeof value === 'number') return { Name: name, Value: String(value), Type: 'DOUBLE' };
  if (typeof value === 'boolean') return { Name: name, Value: String(value), Type: 'BOOLEAN' };
  return { Name: name, Value: value, Type: 'VARCHAR' };
}
