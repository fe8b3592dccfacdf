/**
 * The twin use cases, shared by every door and the device-facing handler: read, patch
 * desired (operators), patch reported (devices), and send the delta to the device. A patch
 * is applied to the freshly read twin and written with a version condition; without an
 * expectedVersion a lost race is simply retried on the new twin, so concurrent writers of
 * different keys never see a conflict (the Shadow's 409 storms), and with one the caller
 * gets a ConflictError carrying the current version.
 */
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '../domain/errors.js';
import { parseJsonObjectInput, type JsonObject } from '../domain/json-document.js';
import { validateDeviceId, validateVersion } from '../domain/validation.js';
import { twinDeltaTopic } from '../contracts/topics.js';
import { DEFAULT_ONLINE_WAIT_MS } from '../commands/command-service.js';
import type { DeviceMessenger, DevicePresence } from '../ports/device-messenger.js';
import type { TwinRepository, TwinVersionMarker } from '../ports/twin-repository.js';
import { applyMergePatch, computeDelta, MAX_TWIN_DEPTH, MAX_TWIN_DOCUMENT_BYTES, type TwinSideName } from './twin-document.js';
import { emptyTwin, toTwin, type StoredTwin, type Twin } from './twin.js';

/** Schema version of the delta message a device receives. */
export const DELTA_MESSAGE_VERSION = 1;

/** What a device receives on its delta topic. */
export interface DeltaMessage {
  readonly v: typeof DELTA_MESSAGE_VERSION;
  /** The twin version the delta was computed at: a device ignores a delta older than one it applied. */
  readonly version: number;
  readonly delta: JsonObject;
  readonly sentAt: string;
}

/** Ports of {@link TwinService}. */
export interface TwinServiceDeps {
  readonly twins: TwinRepository;
  readonly marker: TwinVersionMarker;
  readonly presence: DevicePresence;
  readonly messenger: DeviceMessenger;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** How long a subscription waits for the device's ONLINE status. @default DEFAULT_ONLINE_WAIT_MS */
  readonly onlineWaitMs?: number;
  /** Told when a delta could not be sent (the device gets the current one when it next subscribes). */
  readonly onDeliveryError?: (error: unknown, deviceId: string) => void;
}

/** Attempts of a patch without expectedVersion before giving up on a very contended twin. */
const MAX_ATTEMPTS = 8;

/** Twin use cases. */
export class TwinService {
  private readonly clock: () => Date;

  constructor(private readonly deps: TwinServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** A device's twin (version 0 and empty documents before the first write). NotFoundError for an unknown device. */
  async get(deviceId: unknown): Promise<Twin> {
    const id = validateDeviceId(deviceId, 'deviceId');
    const [stored, online] = await Promise.all([this.deps.twins.get(id), this.deps.presence.isOnline(id)]);
    if (online === undefined) throw new NotFoundError(`device ${id} does not exist`);
    return toTwin(stored ?? emptyTwin(id));
  }

  /**
   * Applies a merge patch to desired; when the delta is not empty and the device is online,
   * sends it the new delta. ConflictError on a stale expectedVersion.
   */
  async updateDesired(input: { deviceId: unknown; patch: unknown; expectedVersion?: unknown }): Promise<Twin> {
    const id = validateDeviceId(input.deviceId, 'deviceId');
    const patch = parsePatch(input.patch);
    // A twin never changed has version 0 (as Twin.version says), and a first writer may expect exactly that.
    const expected = input.expectedVersion === undefined || input.expectedVersion === null ? undefined : input.expectedVersion === 0 ? 0 : validateVersion(input.expectedVersion);
    if ((await this.deps.presence.isOnline(id)) === undefined) throw new NotFoundError(`device ${id} does not exist`);
    const { twin, written } = await this.patch(id, 'desired', patch, expected);
    // Presence is read after the write, as for commands: either this sees ONLINE or the
    // device's subscription (which waits for ONLINE) reads this twin.
    if (written && (await this.deps.presence.isOnline(id))) await this.sendDelta(twin);
    return toTwin(twin);
  }

  /**
   * Applies a device's reported patch (no expectedVersion: the device's latest word wins).
   * Reports are handled concurrently, so an older one can land after a newer one: when a
   * report changed the twin and leaves a delta, the device gets that delta again (a report
   * that changes nothing is not written and sends nothing, so a device that cannot apply a
   * value is not asked in a loop). NotFoundError for an unregistered thing.
   */
  async updateReported(deviceId: string, patch: JsonObject): Promise<Twin> {
    if ((await this.deps.presence.isOnline(deviceId)) === undefined) throw new NotFoundError(`device ${deviceId} does not exist`);
    const { twin, written } = await this.patch(deviceId, 'reported', patch, undefined);
    if (written && (await this.deps.presence.isOnline(deviceId))) await this.sendDelta(twin);
    return toTwin(twin);
  }

  /** Sends the current delta to the device (on its subscription), once it shows ONLINE; false when there is none to send. */
  async sendCurrentDelta(deviceId: string): Promise<boolean> {
    const waitUntil = Date.now() + (this.deps.onlineWaitMs ?? DEFAULT_ONLINE_WAIT_MS);
    while (!(await this.deps.presence.isOnline(deviceId))) {
      if (Date.now() >= waitUntil) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const twin = await this.deps.twins.get(deviceId);
    return twin ? this.sendDelta(twin) : false;
  }

  private async sendDelta(twin: StoredTwin): Promise<boolean> {
    const delta = computeDelta(twin.desired, twin.reported);
    if (Object.keys(delta).length === 0) return false;
    const message: DeltaMessage = { v: DELTA_MESSAGE_VERSION, version: twin.version, delta, sentAt: this.clock().toISOString() };
    try {
      await this.deps.messenger.send({ topic: twinDeltaTopic(twin.deviceId), payload: JSON.stringify(message) });
      return true;
    } catch (error) {
      this.deps.onDeliveryError?.(error, twin.deviceId);
      return false;
    }
  }

  private async patch(id: string, side: TwinSideName, patch: JsonObject, expected: number | undefined): Promise<{ twin: StoredTwin; written: boolean }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = (await this.deps.twins.get(id)) ?? emptyTwin(id);
      if (expected !== undefined && current.version !== expected) {
        throw new ConflictError(`twin of ${id} is at version ${current.version}, not ${expected}`, current.version);
      }
      const now = this.clock();
      const version = current.version + 1;
      const before = side === 'desired' ? { document: current.desired, metadata: current.desiredMetadata } : { document: current.reported, metadata: current.reportedMetadata };
      const after = applyMergePatch(before, patch, version, now.getTime(), side);
      if (!after) return { twin: current, written: false };
      const next: StoredTwin =
        side === 'desired'
          ? { ...current, desired: after.document, desiredMetadata: after.metadata, version, updatedAt: now.toISOString() }
          : { ...current, reported: after.document, reportedMetadata: after.metadata, version, updatedAt: now.toISOString() };
      if (await this.deps.twins.put(next, current.version)) {
        await this.deps.marker.markTwinVersion(id, version);
        return { twin: next, written: true };
      }
      if (expected !== undefined) {
        const latest = await this.deps.twins.get(id);
        throw new ConflictError(`twin of ${id} changed meanwhile (now version ${latest?.version ?? 0})`, latest?.version);
      }
    }
    throw new UnavailableError(`twin of ${id} is changing too fast; try again`);
  }
}

/** A merge patch: a JSON object (text or parsed) within the document limits. */
export function parsePatch(value: unknown): JsonObject {
  if (value === undefined || value === null) throw new ValidationError('patch is required', 'patch');
  return parseJsonObjectInput(value, 'patch', { maxBytes: MAX_TWIN_DOCUMENT_BYTES, maxDepth: MAX_TWIN_DEPTH });
}
