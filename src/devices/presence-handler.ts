/**
 * The presence use case: one IoT lifecycle event → a conditional ONLINE/OFFLINE write.
 * Lifecycle events arrive out of order and repeated; ordering by (timestamp, versionNumber)
 * in the writer's condition makes any order converge on the latest event.
 */
import type { DeadLetterQueue } from '../ports/dead-letter.js';
import type { DeviceStateWriter, PresenceOutcome, PresenceUpdate } from '../ports/device-state-writer.js';
import type { PresenceEvent } from '../contracts/rules.js';

/** What the handler did with one event. */
export type PresenceResult = PresenceOutcome | 'invalid';

/** Ports and options of {@link createPresenceHandler}. */
export interface PresenceHandlerDeps {
  readonly devices: DeviceStateWriter;
  readonly deadLetters: DeadLetterQueue;
  /** @default Date.now */
  readonly now?: () => number;
  /** Called once per event with its outcome (logging, metrics). */
  readonly observer?: (result: PresenceResult, event: unknown) => void;
}

/** The Lambda-shaped presence handler: the event is the lifecycle event JSON itself. Throws only on outage (Lambda retries). */
export type PresenceHandler = (event: unknown) => Promise<PresenceResult>;

/** Builds the presence handler from its ports. */
export function createPresenceHandler(deps: PresenceHandlerDeps): PresenceHandler {
  const now = deps.now ?? Date.now;
  return async (event) => {
    const update = toPresenceUpdate(event);
    if (typeof update === 'string') {
      const payload = Buffer.from(safeJson(event), 'utf8');
      await deps.deadLetters.send([
        {
          source: 'presence',
          reason: 'INVALID_EVENT',
          detail: update,
          ...(isRecord(event) && typeof event.clientId === 'string' && { thingName: event.clientId, clientId: event.clientId }),
          payload: payload.toString('base64'),
          payloadBytes: payload.byteLength,
          deadLetteredAt: new Date(now()).toISOString(),
        },
      ]);
      deps.observer?.('invalid', event);
      return 'invalid';
    }
    // Unknown client ids (not a registered device) are ignored, not dead-lettered: service
    // clients connect too, and the writer never creates devices.
    const outcome = await deps.devices.recordPresence(update);
    deps.observer?.(outcome, event);
    return outcome;
  };
}

/** The update an event asks for, or why the event is malformed. */
export function toPresenceUpdate(event: unknown): PresenceUpdate | string {
  if (!isRecord(event)) return 'event is not an object';
  const { clientId, timestamp, eventType, versionNumber, disconnectReason } = event as Partial<Record<keyof PresenceEvent, unknown>>;
  if (typeof clientId !== 'string' || !/^[a-zA-Z0-9:_-]{1,128}$/.test(clientId)) return 'clientId is missing or not a thing name';
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) return 'timestamp must be epoch milliseconds';
  if (eventType !== 'connected' && eventType !== 'disconnected') return 'eventType must be connected or disconnected';
  if (typeof versionNumber !== 'number' || !Number.isSafeInteger(versionNumber) || versionNumber < 0) {
    return 'versionNumber must be a non-negative integer';
  }
  if (eventType === 'connected') return { deviceId: clientId, status: 'ONLINE', at: timestamp, version: versionNumber };
  return {
    deviceId: clientId,
    status: 'OFFLINE',
    at: timestamp,
    version: versionNumber,
    disconnectReason: typeof disconnectReason === 'string' && disconnectReason.length > 0 ? disconnectReason.slice(0, 128) : 'UNKNOWN',
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
