/**
 * Twins in memory, with the DynamoDB repository's semantics: a write lands only when the stored
 * version is still the one the writer read (0: none yet); reads and writes are copies, so a
 * caller cannot change a stored twin.
 */
import type { TwinRepository } from '../../ports/twin-repository.js';
import type { StoredTwin } from '../../twin/twin.js';

/** The twin repository of tests and benchmarks that need no DynamoDB. */
export class InMemoryTwinRepository implements TwinRepository {
  private readonly twins = new Map<string, StoredTwin>();

  async get(deviceId: string): Promise<StoredTwin | undefined> {
    const twin = this.twins.get(deviceId);
    return twin && structuredClone(twin);
  }

  async put(twin: StoredTwin, previousVersion: number): Promise<boolean> {
    const stored = this.twins.get(twin.deviceId);
    if ((stored?.version ?? 0) !== previousVersion || (previousVersion === 0 && stored)) return false;
    this.twins.set(twin.deviceId, structuredClone(twin));
    return true;
  }
}
