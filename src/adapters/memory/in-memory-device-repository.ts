import { padSequence } from '../../domain/change-sequence.js';
import type { Device } from '../../domain/device.js';
import type { ChangeType, DeviceChange } from '../../domain/device-change.js';
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import type { DeviceChanges, DevicePage, DeviceRepository, ListDevicesQuery } from '../../ports/device-repository.js';

/** Options for {@link InMemoryDeviceRepository}. */
export interface InMemoryDeviceRepositoryOptions {
  /**
   * Called after every write with the change a DynamoDB stream would carry, so tests can
   * feed InMemoryStats or a publisher the way the change feed does.
   */
  readonly onChange?: (change: DeviceChange) => void | Promise<void>;
}

/**
 * The device repository in memory, with the DynamoDB one's semantics: creation order
 * (createdAt, then id), create never overwrites, version checks on update and delete,
 * cursor `{ createdKey }`. Returns copies so callers cannot change stored devices.
 */
export class InMemoryDeviceRepository implements DeviceRepository {
  private readonly devices = new Map<string, Device>();
  private sequence = 0n;

  constructor(private readonly options: InMemoryDeviceRepositoryOptions = {}) {}

  /** Inserts; AlreadyExistsError when the id is taken. */
  async create(device: Device): Promise<void> {
    if (this.devices.has(device.id)) throw new AlreadyExistsError(`device ${device.id} already exists`);
    this.devices.set(device.id, structuredClone(device));
    await this.emit('CREATED', device);
  }

  /** The device, or undefined. */
  async get(id: string): Promise<Device | undefined> {
    const device = this.devices.get(id);
    return device && structuredClone(device);
  }

  /** A page in creation order, after the cursor's createdKey. */
  async list(query: ListDevicesQuery): Promise<DevicePage> {
    const after = query.after?.createdKey;
    if (query.after !== undefined && typeof after !== 'string') throw new ValidationError('pageToken does not hold a listing position', 'pageToken');
    const matching = [...this.devices.values()]
      .filter((d) => (query.status === undefined || d.status === query.status) && (query.type === undefined || d.type === query.type))
      .map((d) => ({ key: createdKey(d), device: d }))
      .filter(({ key }) => after === undefined || key > after)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const page = matching.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map(({ device }) => structuredClone(device)),
      ...(matching.length > query.limit && last && { next: { createdKey: last.key } }),
    };
  }

  /** Applies the changes and bumps the version; NotFoundError / ConflictError. */
  async update(id: string, changes: DeviceChanges, updatedAt: string, expectedVersion?: number): Promise<Device> {
    const current = this.current(id, expectedVersion);
    const next: Device = {
      ...current,
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.type !== undefined && { type: changes.type }),
      ...(changes.status !== undefined && { status: changes.status }),
      ...(changes.metadata !== undefined && { metadata: { ...changes.metadata } }),
      updatedAt,
      version: current.version + 1,
    };
    this.devices.set(id, next);
    await this.emit('UPDATED', next, current);
    return structuredClone(next);
  }

  /** Removes and returns the device; NotFoundError / ConflictError. */
  async delete(id: string, expectedVersion?: number): Promise<Device> {
    const current = this.current(id, expectedVersion);
    this.devices.delete(id);
    await this.emit('DELETED', current);
    return structuredClone(current);
  }

  private current(id: string, expectedVersion: number | undefined): Device {
    const current = this.devices.get(id);
    if (!current) throw new NotFoundError(`device ${id} does not exist`);
    if (expectedVersion !== undefined && current.version !== expectedVersion) {
      throw new ConflictError(
        `device ${id} has version ${current.version}, not the expected ${expectedVersion}; read it again and retry`,
        current.version,
      );
    }
    return current;
  }

  private async emit(changeType: ChangeType, device: Device, previous?: Device): Promise<void> {
    if (!this.options.onChange) return;
    this.sequence += 1n;
    await this.options.onChange({
      changeType,
      device: structuredClone(device),
      ...(previous && { previous: structuredClone(previous) }),
      changedAt: device.updatedAt,
      sequence: padSequence(this.sequence),
    });
  }
}

const createdKey = (device: Device): string => `${device.createdAt}#${device.id}`;
