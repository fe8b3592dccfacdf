/**
 * The device control handler: what devices send back about commands and state, and what the
 * broker says about their subscriptions, as the rules deliver it (one rule output per event).
 * Answers become command transitions, reports become twin patches, a subscription to the
 * command or delta topic releases the queued commands or the current delta. Anything
 * malformed or not the device's own goes to the dead-letter queue with its reason; the
 * handler throws only on an outage (the asynchronous invocation is retried).
 */
import type { CommandService } from '../commands/command-service.js';
import { parseCommandAnswer } from '../commands/command-messages.js';
import { isDomainError, ValidationError } from '../domain/errors.js';
import { parseJsonObjectInput } from '../domain/json-document.js';
import { commandTopic, twinDeltaTopic } from '../contracts/topics.js';
import { validateDeviceId } from '../domain/validation.js';
import type { DeadLetter, DeadLetterQueue } from '../ports/dead-letter.js';
import { MAX_TWIN_DEPTH, MAX_TWIN_DOCUMENT_BYTES } from '../twin/twin-document.js';
import type { TwinService } from '../twin/twin-service.js';

/** Schema version of the reported-state message. */
export const STATE_MESSAGE_VERSION = 1;

/** What the handler did with one event. */
export type DeviceControlResult =
  | 'answer-applied'
  | 'answer-duplicate'
  | 'answer-late'
  | 'reported'
  | 'delivered'
  | 'ignored'
  | 'dead-lettered';

/** Ports of {@link createDeviceControlHandler}. */
export interface DeviceControlDeps {
  readonly commands: Pick<CommandService, 'answer' | 'deliverQueued'>;
  readonly twins: Pick<TwinService, 'updateReported' | 'sendCurrentDelta'>;
  readonly deadLetters: DeadLetterQueue;
  /** @default Date.now */
  readonly now?: () => number;
  readonly observer?: (result: DeviceControlResult, event: unknown) => void;
}

/** The Lambda-shaped handler: the event is one rule output. */
export type DeviceControlHandler = (event: unknown) => Promise<DeviceControlResult>;

/** Builds the handler from its ports. */
export function createDeviceControlHandler(deps: DeviceControlDeps): DeviceControlHandler {
  const now = deps.now ?? Date.now;

  const deadLetter = async (source: DeadLetter['source'], reason: string, detail: string, event: Record<string, unknown>, payload: Buffer) => {
    await deps.deadLetters.send([
      {
        source,
        reason,
        detail,
        ...(typeof event.thingName === 'string' && { thingName: event.thingName }),
        ...(typeof event.clientId === 'string' && { clientId: event.clientId }),
        payload: payload.toString('base64'),
        payloadBytes: payload.byteLength,
        ...(typeof event.receivedAt === 'number' && { receivedAt: event.receivedAt }),
        deadLetteredAt: new Date(now()).toISOString(),
      },
    ]);
    return 'dead-lettered' as const;
  };

  const handle = async (event: unknown): Promise<DeviceControlResult> => {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      return deadLetter('commands', 'INVALID_EVENT', 'event is not an object', {}, Buffer.from(String(event)));
    }
    const e = event as Record<string, unknown>;
    if (e.kind === 'subscribed') return subscribed(e);
    const source = e.kind === 'state' ? 'twin' : 'commands';
    const payload = typeof e.payload === 'string' ? Buffer.from(e.payload, 'base64') : Buffer.alloc(0);
    if (e.kind !== 'response' && e.kind !== 'state') return deadLetter(source, 'INVALID_EVENT', 'kind must be response, state or subscribed', e, payload);
    let thingName: string;
    try {
      thingName = validateDeviceId(e.thingName, 'thingName');
    } catch (error) {
      return deadLetter(source, 'INVALID_EVENT', (error as Error).message, e, payload);
    }
    return e.kind === 'response' ? response(thingName, e, payload) : state(thingName, e, payload);
  };

  const response = async (thingName: string, e: Record<string, unknown>, payload: Buffer): Promise<DeviceControlResult> => {
    let answer;
    try {
      // The rule hands MQTT 5 correlation data on base64-encoded (get_mqtt_property).
      const correlationData = typeof e.correlationData === 'string' ? Buffer.from(e.correlationData, 'base64').toString('utf8') : undefined;
      answer = parseCommandAnswer(payload, correlationData);
    } catch (error) {
      if (error instanceof ValidationError) return deadLetter('commands', 'INVALID_ANSWER', error.message, e, payload);
      throw error;
    }
    const outcome = await deps.commands.answer(thingName, answer);
    if (outcome === 'unknown-command') return deadLetter('commands', 'UNKNOWN_COMMAND', `no command ${answer.commandId}`, e, payload);
    if (outcome === 'not-own-command') return deadLetter('commands', 'NOT_OWN_COMMAND', `command ${answer.commandId} belongs to another device`, e, payload);
    return outcome === 'applied' ? 'answer-applied' : outcome === 'late' ? 'answer-late' : 'answer-duplicate';
  };

  const state = async (thingName: string, e: Record<string, unknown>, payload: Buffer): Promise<DeviceControlResult> => {
    try {
      let body: unknown;
      try {
        body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
      } catch {
        throw new ValidationError('the state message is not UTF-8 JSON', 'payload');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('the state message must be a JSON object', 'payload');
      const message = body as Record<string, unknown>;
      const extra = Object.keys(message).find((key) => key !== 'v' && key !== 'reported');
      if (extra !== undefined) throw new ValidationError(`unknown field "${extra.slice(0, 40)}"`, extra);
      if (message.v !== STATE_MESSAGE_VERSION) throw new ValidationError(`v must be ${STATE_MESSAGE_VERSION}`, 'v');
      const patch = parseJsonObjectInput(message.reported, 'reported', { maxBytes: MAX_TWIN_DOCUMENT_BYTES, maxDepth: MAX_TWIN_DEPTH });
      await deps.twins.updateReported(thingName, patch);
      return 'reported';
    } catch (error) {
      if (isDomainError(error) && error.code === 'VALIDATION') return deadLetter('twin', 'INVALID_STATE', error.message, e, payload);
      if (isDomainError(error) && error.code === 'NOT_FOUND') return deadLetter('twin', 'UNKNOWN_DEVICE', error.message, e, payload);
      throw error;
    }
  };

  const subscribed = async (e: Record<string, unknown>): Promise<DeviceControlResult> => {
    const clientId = e.clientId;
    const topics = Array.isArray(e.topics) ? e.topics.filter((t): t is string => typeof t === 'string') : [];
    if (typeof clientId !== 'string') return 'ignored';
    let delivered = false;
    // The topics are the device's own only when the policy let it subscribe, so they name its own queue.
    if (topics.includes(commandTopic(clientId))) {
      await deps.commands.deliverQueued(clientId);
      delivered = true;
    }
    if (topics.includes(twinDeltaTopic(clientId))) {
      await deps.twins.sendCurrentDelta(clientId);
      delivered = true;
    }
    return delivered ? 'delivered' : 'ignored';
  };

  return async (event) => {
    const result = await handle(event);
    deps.observer?.(result, event);
    return result;
  };
}
