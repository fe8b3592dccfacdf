/**
 * What travels between the platform and a device for commands: the envelope a device receives
 * on its command topic and the answer it publishes on its response topic (schema version 1).
 */
import { ValidationError } from '../domain/errors.js';
import { parseJsonInput, type Json } from '../domain/json-document.js';
import { commandResponseTopic } from '../contracts/topics.js';
import { DEVICE_ANSWER_STATUSES, type Command, type DeviceAnswerStatus } from './command.js';
import { MAX_COMMAND_JSON, MAX_STATUS_REASON_LENGTH } from './command-validation.js';

/** Schema version of both messages. */
export const COMMAND_MESSAGE_VERSION = 1;

/** The envelope a device receives on `cmd/iot/<thing>/commands`. */
export interface CommandEnvelope {
  readonly v: typeof COMMAND_MESSAGE_VERSION;
  readonly id: string;
  readonly name: string;
  readonly payload: Json;
  readonly createdAt: string;
  readonly timeoutSeconds: number;
  /** When the platform records TIMED_OUT unless a final answer came first. */
  readonly deadlineAt: string;
  /** Where to answer (MQTT 5 devices also get it as the Response Topic property). */
  readonly responseTopic: string;
  /** Echo it back as `id` (MQTT 5 devices also get it as Correlation Data). */
  readonly correlationData: string;
}

/** The envelope of a command being delivered now. */
export function commandEnvelope(command: Command): CommandEnvelope {
  return {
    v: COMMAND_MESSAGE_VERSION,
    id: command.id,
    name: command.name,
    payload: command.payload,
    createdAt: command.createdAt,
    timeoutSeconds: command.timeoutSeconds,
    deadlineAt: command.deadlineAt ?? command.expiresAt,
    responseTopic: commandResponseTopic(command.deviceId),
    correlationData: command.id,
  };
}

/** A device's answer, validated. */
export interface CommandAnswer {
  readonly commandId: string;
  readonly status: DeviceAnswerStatus;
  readonly statusReason?: string;
  readonly result?: Json;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ANSWER_FIELDS = new Set(['v', 'id', 'status', 'reason', 'result']);

/**
 * Parses an answer: `{"v":1,"id":"<command id>","status":"IN_PROGRESS|SUCCEEDED|FAILED|REJECTED","reason"?,"result"?}`.
 * `correlationData` (MQTT 5) stands in for a missing `id`. ValidationError with the reason otherwise.
 */
export function parseCommandAnswer(payload: Buffer, correlationData?: string): CommandAnswer {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new ValidationError('the answer is not UTF-8 JSON', 'payload');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('the answer must be a JSON object', 'payload');
  const answer = body as Record<string, unknown>;
  const unknownField = Object.keys(answer).find((key) => !ANSWER_FIELDS.has(key));
  if (unknownField !== undefined) throw new ValidationError(`unknown field "${unknownField.slice(0, 40)}"`, unknownField);
  if (answer.v !== COMMAND_MESSAGE_VERSION) throw new ValidationError(`v must be ${COMMAND_MESSAGE_VERSION}`, 'v');
  const id = answer.id ?? correlationData;
  if (typeof id !== 'string' || !UUID.test(id)) throw new ValidationError('id must be the command id (a lower-case UUID)', 'id');
  if (!(DEVICE_ANSWER_STATUSES as readonly unknown[]).includes(answer.status)) {
    throw new ValidationError(`status must be one of ${DEVICE_ANSWER_STATUSES.join(', ')}`, 'status');
  }
  if (answer.reason !== undefined && (typeof answer.reason !== 'string' || answer.reason.length > MAX_STATUS_REASON_LENGTH)) {
    throw new ValidationError(`reason must be a string of at most ${MAX_STATUS_REASON_LENGTH} characters`, 'reason');
  }
  const result = answer.result === undefined ? undefined : parseJsonInput(answer.result, 'result', MAX_COMMAND_JSON);
  return {
    commandId: id,
    status: answer.status as DeviceAnswerStatus,
    ...(typeof answer.reason === 'string' && { statusReason: answer.reason }),
    ...(result !== undefined && { result }),
  };
}
