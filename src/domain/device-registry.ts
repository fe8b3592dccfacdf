/**
 * The device registry use cases, shared by every door (GraphQL resolvers, the gRPC service,
 * the CLI). Validates input, assigns ids and timestamps, and turns repository cursors into
 * signed page tokens; persistence and counters come in through ports.
 */
import { randomUUID } from 'node:crypto';
import type { Device, DeviceStats, DeviceStatus } from './device.js';
import { NotFoundError, ValidationError } from './errors.js';
import type { PageScope, PageTokenCodec } from './page-token.js';
import type { DeviceChanges, DeviceRepository, PageCursor } from '../ports/device-repository.js';
import type { StatsReader } from '../ports/stats.js';
import {
  validateDeviceId,
  validateLimit,
  validateMetadata,
  validateName,
  validateStatus,
  validateType,
  validateVersion,
} from './validation.js';

/** Input of {@link DeviceRegistry.create}; `id` is generated when absent. */
export interface CreateDeviceInput {
  id?: string;
  name: string;
  type: string;
  /** @default 'UNKNOWN' */
  status?: DeviceStatus;
  metadata?: Record<string, string>;
}

/** Input of {@link DeviceRegistry.update}: the fields present (not undefined or null) are changed; metadata is replaced whole. */
export interface UpdateDeviceInput {
  id: string;
  name?: string;
  type?: string;
  status?: DeviceStatus;
  metadata?: Record<string, string>;
  /** When given, the update only applies if the device still has this version. */
  expectedVersion?: number;
}

/** Input of {@link DeviceRegistry.list}. */
export interface ListDevicesInput {
  /** 1..100, default 25. */
  limit?: number;
  /** nextPageToken of the previous page, listed with the same filters; empty string means none. */
  pageToken?: string;
  status?: DeviceStatus;
  type?: string;
}

/** One page of a listing. */
export interface DeviceListPage {
  items: Device[];
  /** Absent on the last page. */
  nextPageToken?: string;
  /** Devices matching the filters across all pages, from the counters; undefined for status+type. */
  total?: number;
}

/** Ports and policies the registry runs on. */
export interface DeviceRegistryDeps {
  repository: DeviceRepository;
  stats: StatsReader;
  pageTokens: PageTokenCodec;
  /** @default () => new Date() */
  clock?: () => Date;
  /** @default crypto.randomUUID */
  newId?: () => string;
}

/** The registry's use cases. Every method validates its input before any I/O. */
export class DeviceRegistry {
  private readonly repository: DeviceRepository;
  private readonly statsReader: StatsReader;
  private readonly pageTokens: PageTokenCodec;
  private readonly clock: () => Date;
  private readonly newId: () => string;

  constructor(deps: DeviceRegistryDeps) {
    this.repository = deps.repository;
    this.statsReader = deps.stats;
    this.pageTokens = deps.pageTokens;
    this.clock = deps.clock ?? (() => new Date());
    this.newId = deps.newId ?? randomUUID;
  }

  /** Registers a device (version 1). ValidationError; AlreadyExistsError when the id is taken. */
  async create(input: CreateDeviceInput): Promise<Device> {
    requireObject(input, 'create input');
    const id = absent(input.id) ? this.newId() : validateDeviceId(input.id);
    const name = validateName(input.name);
    const type = validateType(input.type);
    const status = absent(input.status) ? 'UNKNOWN' : validateStatus(input.status);
    const metadata = absent(input.metadata) ? {} : validateMetadata(input.metadata);
    const now = this.now();
    const device: Device = { id, name, type, status, createdAt: now, updatedAt: now, metadata, version: 1, readings: {} };
    await this.repository.create(device);
    return device;
  }

  /** One device. ValidationError when `id` is not a UUID; NotFoundError when absent. */
  async get(id: string): Promise<Device> {
    const deviceId = validateDeviceId(id);
    const device = await this.repository.get(deviceId);
    if (!device) throw notFound(deviceId);
    return device;
  }

  /** A page in creation order. ValidationError for a bad limit or filter and for a forged or foreign token. */
  async list(input: ListDevicesInput = {}): Promise<DeviceListPage> {
    requireObject(input, 'list input');
    const limit = validateLimit(input.limit);
    const status = absent(input.status) ? undefined : validateStatus(input.status);
    const type = absent(input.type) ? undefined : validateType(input.type);
    const scope: PageScope = { status, type };
    const after: PageCursor | undefined =
      absent(input.pageToken) || input.pageToken === ''
        ? undefined
        : this.pageTokens.decode(input.pageToken, scope);
    const [page, total] = await Promise.all([
      this.repository.list({ limit, ...(after && { after }), ...(status && { status }), ...(type && { type }) }),
      this.total(status, type),
    ]);
    return {
      items: page.items,
      ...(page.next && { nextPageToken: this.pageTokens.encode(page.next, scope) }),
      ...(total !== undefined && { total }),
    };
  }

  /** Changes the given fields and bumps the version. NotFoundError; ConflictError on a stale expectedVersion. */
  async update(input: UpdateDeviceInput): Promise<Device> {
    requireObject(input, 'update input');
    const id = validateDeviceId(input.id);
    const changes: { -readonly [K in keyof DeviceChanges]: DeviceChanges[K] } = {};
    if (!absent(input.name)) changes.name = validateName(input.name);
    if (!absent(input.type)) changes.type = validateType(input.type);
    if (!absent(input.status)) changes.status = validateStatus(input.status);
    if (!absent(input.metadata)) changes.metadata = validateMetadata(input.metadata);
    if (Object.keys(changes).length === 0) {
      throw new ValidationError('update must change at least one of name, type, status, metadata');
    }
    const expectedVersion = absent(input.expectedVersion) ? undefined : validateVersion(input.expectedVersion);
    return this.repository.update(id, changes, this.now(), expectedVersion);
  }

  /** Deletes and returns the device. NotFoundError; ConflictError on a stale expectedVersion. */
  async delete(id: string, expectedVersion?: number): Promise<Device> {
    const deviceId = validateDeviceId(id);
    const version = absent(expectedVersion) ? undefined : validateVersion(expectedVersion);
    return this.repository.delete(deviceId, version);
  }

  /** Fleet counters, read in constant time. */
  stats(): Promise<DeviceStats> {
    return this.statsReader.read();
  }

  private async total(status: DeviceStatus | undefined, type: string | undefined): Promise<number | undefined> {
    // No counter per (status, type) pair: counting it would need a query proportional to the fleet.
    if (status !== undefined && type !== undefined) return undefined;
    const stats = await this.statsReader.read();
    if (status !== undefined) return stats.byStatus[status] ?? 0;
    if (type !== undefined) return stats.byType[type] ?? 0;
    return stats.total;
  }

  private now(): string {
    return this.clock().toISOString();
  }
}

/** Optional inputs: GraphQL and JSON callers send null where TypeScript callers omit the field. */
function absent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`device ${id} does not exist`);
}

function requireObject(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`${what} must be an object`);
  }
}
