/** GetTelemetry's request and response mapping (proto <-> the telemetry history use case). */
import type { ReadingValue } from '../domain/device.js';
import { ValidationError } from '../domain/errors.js';
import type { TelemetryHistoryPage, TelemetryHistoryQuery } from '../domain/telemetry-history.js';
import type { TelemetryResolution } from '../domain/telemetry-rollup.js';
import type { GetTelemetryRequest__Output } from '../generated/proto/iot/device/v1/GetTelemetryRequest.js';
import type { GetTelemetryResponse } from '../generated/proto/iot/device/v1/GetTelemetryResponse.js';
import type { TelemetryValue } from '../generated/proto/iot/device/v1/TelemetryValue.js';
import type { Timestamp__Output } from '../generated/proto/google/protobuf/Timestamp.js';

const RESOLUTIONS: Readonly<Record<string, TelemetryResolution>> = {
  TELEMETRY_RESOLUTION_UNSPECIFIED: 'RAW',
  TELEMETRY_RESOLUTION_RAW: 'RAW',
  TELEMETRY_RESOLUTION_MINUTE: 'MINUTE',
  TELEMETRY_RESOLUTION_HOUR: 'HOUR',
  TELEMETRY_RESOLUTION_DAY: 'DAY',
};

function epochMs(timestamp: Timestamp__Output | null, field: string): number {
  if (!timestamp) throw new ValidationError(`${field} is required`, field);
  const seconds = Number(timestamp.seconds);
  if (!Number.isSafeInteger(seconds) || timestamp.nanos < 0 || timestamp.nanos > 999_999_999) throw new ValidationError(`${field} is not a valid timestamp`, field);
  return seconds * 1000 + Math.floor(timestamp.nanos / 1_000_000);
}

/** The use case's query from a GetTelemetry request; ValidationError for a missing time or an unknown resolution. */
export function toTelemetryQuery(request: GetTelemetryRequest__Output): TelemetryHistoryQuery {
  const resolution = RESOLUTIONS[String(request.resolution)];
  if (!resolution) throw new ValidationError(`resolution ${String(request.resolution)} is not one of RAW, MINUTE, HOUR, DAY`, 'resolution');
  return {
    deviceId: request.deviceId,
    metric: request.metric,
    from: epochMs(request.from, 'from'),
    to: epochMs(request.to, 'to'),
    ...(request.limit !== 0 && { limit: request.limit }),
    ...(request.pageToken && { pageToken: request.pageToken }),
    resolution,
  };
}

const toMs = (ms: number) => {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
};

function toValue(value: ReadingValue): TelemetryValue {
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return { stringValue: value };
}

/** A page of the use case as a GetTelemetry response. */
export function toTelemetryResponse(page: TelemetryHistoryPage): GetTelemetryResponse {
  return {
    samples: page.items.map((s) => ({ time: toMs(s.ts), seq: String(s.seq), value: toValue(s.value) })),
    buckets: page.buckets.map((b) => ({
      start: toMs(b.start),
      count: String(b.count),
      ...(b.min !== undefined && { min: b.min }),
      ...(b.max !== undefined && { max: b.max }),
      ...(b.avg !== undefined && { avg: b.avg }),
      last: toValue(b.last),
    })),
    nextPageToken: page.nextPageToken ?? '',
  };
}
