import type { DeviceStatus } from '../../../src/generated/graphql/types';

/** Every status, in the order the console lists them. */
export const STATUSES: readonly DeviceStatus[] = ['ONLINE', 'OFFLINE', 'ERROR', 'MAINTENANCE', 'UNKNOWN'];

/** A device status as a coloured label; the word itself carries the meaning, not the colour. */
export function StatusBadge({ status }: { status: DeviceStatus }) {
  return <span className={`status status-${status.toLowerCase()}`}>{status.toLowerCase()}</span>;
}
