import type { JsonObject } from '../domain/json-document.js';
import { computeDelta, toMetadataTree, type MetadataTree, type StoredMetaTree } from './twin-document.js';

/** A device's twin as stored: both documents, their metadata and one version over both. */
export interface StoredTwin {
  readonly deviceId: string;
  readonly desired: JsonObject;
  readonly reported: JsonObject;
  readonly desiredMetadata: StoredMetaTree;
  readonly reportedMetadata: StoredMetaTree;
  /** Incremented by every change of either document; 0 for a device whose twin was never written. */
  readonly version: number;
  /** ISO time of the last change; absent for version 0. */
  readonly updatedAt?: string;
}

/** A twin as every door shows it. */
export interface Twin {
  readonly deviceId: string;
  readonly desired: JsonObject;
  readonly reported: JsonObject;
  /** Desired keys whose value differs from reported. */
  readonly delta: JsonObject;
  readonly version: number;
  readonly metadata: { readonly desired: MetadataTree; readonly reported: MetadataTree };
  readonly updatedAt?: string;
}

/** The twin of a device that never had one. */
export function emptyTwin(deviceId: string): StoredTwin {
  return { deviceId, desired: {}, reported: {}, desiredMetadata: {}, reportedMetadata: {}, version: 0 };
}

/** The doors' view of a stored twin. */
export function toTwin(stored: StoredTwin): Twin {
  return {
    deviceId: stored.deviceId,
    desired: stored.desired,
    reported: stored.reported,
    delta: computeDelta(stored.desired, stored.reported),
    version: stored.version,
    metadata: { desired: toMetadataTree(stored.desiredMetadata), reported: toMetadataTree(stored.reportedMetadata) },
    ...(stored.updatedAt && { updatedAt: stored.updatedAt }),
  };
}
