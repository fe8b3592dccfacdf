/**
 * Reading one metric of one device over a time range, page by page, as readings or as rollups:
 * the core use case behind the GraphQL `telemetry` query and gRPC `GetTelemetry`. It validates the
 * query and binds each page token to the exact query it continues.
 */
import type { TelemetryReader, TelemetrySample } from '../ports/telemetry-store.js';
import { TELEMETRY_RESOLUTIONS, type TelemetryBucket, type TelemetryResolution } from './telemetry-rollup.js';
import { ValidationError } from './errors.js';
import type { PageTokenCodec } from './page-token.js';
import { validateDeviceId } from './validation.js';

/** Most points one page may ask for. */
export const TELEMETRY_MAX_LIMIT = 1000;
/** Points per page when the caller does not say. */
export const TELEMETRY_DEFAULT_LIMIT = 100;

/** One telemetry query; times are epoch milliseconds, `from` inclusive, `to` exclusive. */
export interface TelemetryHistoryQuery {
  readonly deviceId: string;
  readonly metric: string;
  readonly from: number;
  readonly to: number;
  /** @default TELEMETRY_DEFAULT_LIMIT */
  readonly limit?: number;
  /** The page token of the previous page of this same query. */
  readonly pageToken?: string;
  /** RAW: the readings; otherwise whole UTC buckets (each one that starts in [bucket of from, to)). @default 'RAW' */
  readonly resolution?: TelemetryResolution;
}

/** One page, oldest first: samples at RAW, buckets at any other resolution (the other list is empty). */
export interface TelemetryHistoryPage {
  readonly items: readonly TelemetrySample[];
  readonly buckets: readonly TelemetryBucket[];
  readonly nextPageToken?: string;
}

/** The telemetry read use case over a store. */
export class TelemetryHistory {
  constructor(private readonly deps: { readonly reader: TelemetryReader; readonly pageTokens: PageTokenCodec }) {}

  /** A page of samples; throws ValidationError for a bad query or a token of another query. */
  async query(query: TelemetryHistoryQuery): Promise<TelemetryHistoryPage> {
    const deviceId = validateDeviceId(query.deviceId, 'deviceId');
    const { metric, from, to } = query;
    if (typeof metric !== 'string' || metric.length === 0 || metric.length > 128) throw new ValidationError('metric must be 1-128 characters', 'metric');
    if (from >= to) throw new ValidationError('from must be before to', 'from');
    const limit = query.limit ?? TELEMETRY_DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > TELEMETRY_MAX_LIMIT) {
      throw new ValidationError(`limit must be an integer from 1 to ${TELEMETRY_MAX_LIMIT}, got ${limit}`, 'limit');
    }
    const resolution = query.resolution ?? 'RAW';
    if (!TELEMETRY_RESOLUTIONS.includes(resolution)) {
      throw new ValidationError(`resolution must be one of ${TELEMETRY_RESOLUTIONS.join(', ')}`, 'resolution');
    }
    // The token is bound to this exact query: reusing it for another range, metric or resolution is refused.
    const scope = { kind: 'telemetry', deviceId, metric, from: String(from), to: String(to), ...(resolution !== 'RAW' && { resolution }) };
    const cursor = query.pageToken ? String(this.deps.pageTokens.decode(query.pageToken, scope).c) : undefined;
    const request = { deviceId, metric, from, to, limit, ...(cursor && { cursor }) };
    const token = (next: string | undefined) => (next ? { nextPageToken: this.deps.pageTokens.encode({ c: next }, scope) } : {});
    if (resolution === 'RAW') {
      const page = await this.deps.reader.query(request);
      return { items: page.items, buckets: [], ...token(page.nextCursor) };
    }
    const page = await this.deps.reader.rollups({ ...request, resolution });
    return { items: [], buckets: page.items, ...token(page.nextCursor) };
  }
}
