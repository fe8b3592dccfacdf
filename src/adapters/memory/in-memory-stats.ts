import type { DeviceStats, DeviceStatus } from '../../domain/device.js';
import { DEVICE_STATUSES } from '../../domain/device.js';
import type { DeviceChange } from '../../domain/device-change.js';
import { statsDelta } from '../../domain/stats-delta.js';
import type { StatsProjector, StatsReader } from '../../ports/stats.js';

/**
 * Fleet counters in memory (tests, the gRPC bench). Idempotent like the DynamoDB store:
 * a change whose sequence is not above the last one applied for that device is ignored.
 */
export class InMemoryStats implements StatsReader, StatsProjector {
  private total = 0;
  private readonly byStatus = new Map<DeviceStatus, number>();
  private readonly byType = new Map<string, number>();
  private readonly lastSequence = new Map<string, string>();

  /** Applies `change` once per (device, sequence). */
  async apply(change: DeviceChange): Promise<void> {
    const last = this.lastSequence.get(change.device.id);
    if (last !== undefined && last >= change.sequence) return;
    this.lastSequence.set(change.device.id, change.sequence);
    const delta = statsDelta(change);
    this.total += delta.total;
    for (const [status, by] of Object.entries(delta.byStatus) as [DeviceStatus, number][]) {
      this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + by);
    }
    for (const [type, by] of Object.entries(delta.byType)) this.byType.set(type, (this.byType.get(type) ?? 0) + by);
  }

  /** The current counters; every status is present, types with a zero count are not. */
  async read(): Promise<DeviceStats> {
    const byStatus = Object.fromEntries(DEVICE_STATUSES.map((s) => [s, this.byStatus.get(s) ?? 0])) as Record<DeviceStatus, number>;
    const byType = Object.fromEntries([...this.byType].filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : 1)));
    return { total: this.total, byStatus, byType };
  }
}
