/** The local broker's session table as the presence reconciler's source of truth. */
import type { Connectivity, ConnectivitySource } from '../../devices/presence-reconciler.js';

/** Connected or not, as of the moment the session table is read (taken before reading it). */
export function brokerConnectivity(broker: { connectedClientIds(): string[] }, clock: () => number = Date.now): ConnectivitySource {
  return {
    async connectivity(deviceIds) {
      const at = clock();
      const connected = new Set(broker.connectedClientIds());
      return new Map<string, Connectivity>(deviceIds.map((id) => [id, { connected: connected.has(id), at }]));
    },
  };
}
