/**
 * IoT topic rules as plain data: the one definition read by the CDK (lib/ingest-pipeline.ts)
 * and by the local rules runner, so both route the same topics with the same output shape.
 */
import { commandResponseTopic, stateTopic, subscriptionEventTopic, telemetryTopic } from './topics.js';

/** SQL version of every rule (the current one; it supports `encode(*, 'base64')` on binary payloads). */
export const RULE_SQL_VERSION = '2016-03-23';

/**
 * Name of the telemetry rule. Devices publish to `$aws/rules/<name>/dt/iot/<thing>/telemetry`
 * (Basic Ingest), so the name is part of the device contract and of the IoT policy and cannot
 * be generated: one platform per account and region. Pattern `^[a-zA-Z0-9_]+$` (IoT rule names).
 */
export const TELEMETRY_RULE_NAME = 'iot_platform_telemetry';

/** Name of the lifecycle (presence) rule. */
export const PRESENCE_RULE_NAME = 'iot_platform_presence';

/** Where a rule sends its output. */
export type RuleTarget =
  /** A Kinesis Data Stream; `partitionKey` is an IoT substitution template. */
  | { readonly kind: 'kinesis'; readonly partitionKey: string }
  /** A Lambda function, invoked asynchronously with the rule output as the event. */
  | { readonly kind: 'lambda'; readonly handler: 'presence' | 'deviceControl' };

/** One topic rule. Every rule also has an SQS error action (added by the CDK construct). */
export interface TopicRuleDefinition {
  /** CDK construct id. */
  readonly id: string;
  readonly ruleName: string;
  readonly description: string;
  /** The topic filter of the FROM clause (without the Basic Ingest prefix). */
  readonly topicFilter: string;
  readonly sql: string;
  readonly sqlVersion: typeof RULE_SQL_VERSION;
  readonly target: RuleTarget;
}

/** Telemetry topic filter: level 3 is the thing name. */
export const TELEMETRY_TOPIC_FILTER = telemetryTopic('+');

/**
 * Telemetry: forwards the raw payload base64-encoded (so invalid JSON and invalid UTF-8 reach
 * the ingest Lambda and get a dead-letter reason instead of vanishing in the rules engine),
 * with the thing name from the topic, the MQTT client id and the receive time.
 */
export const TELEMETRY_RULE: TopicRuleDefinition = {
  id: 'TelemetryRule',
  ruleName: TELEMETRY_RULE_NAME,
  description: 'Device telemetry (Basic Ingest) to the ingest Kinesis stream, partitioned by thing name',
  topicFilter: TELEMETRY_TOPIC_FILTER,
  sql:
    `SELECT encode(*, 'base64') AS payload, topic(3) AS thingName, clientid() AS clientId, ` +
    `timestamp() AS receivedAt FROM '${TELEMETRY_TOPIC_FILTER}'`,
  sqlVersion: RULE_SQL_VERSION,
  // Thing name as partition key: one device's records stay in order on one shard.
  target: { kind: 'kinesis', partitionKey: '${topic(3)}' },
};

/** Lifecycle events topic filter: `$aws/events/presence/{connected|disconnected}/{clientId}`. */
export const PRESENCE_TOPIC_FILTER = '$aws/events/presence/+/+';

/** Presence: each lifecycle event, unchanged, to the presence Lambda. */
export const PRESENCE_RULE: TopicRuleDefinition = {
  id: 'PresenceRule',
  ruleName: PRESENCE_RULE_NAME,
  description: 'IoT lifecycle events (connected/disconnected) to the presence Lambda',
  topicFilter: PRESENCE_TOPIC_FILTER,
  sql: `SELECT * FROM '${PRESENCE_TOPIC_FILTER}'`,
  sqlVersion: RULE_SQL_VERSION,
  target: { kind: 'lambda', handler: 'presence' },
};

/** Command answers topic filter: level 3 is the thing name. */
export const COMMAND_RESPONSE_TOPIC_FILTER = commandResponseTopic('+');

/** Reported state topic filter: level 3 is the thing name. */
export const STATE_TOPIC_FILTER = stateTopic('+');

/** Subscription lifecycle events: `$aws/events/subscriptions/subscribed/<clientId>`. */
export const SUBSCRIBED_TOPIC_FILTER = subscriptionEventTopic('subscribed', '+');

/** What the device control handler is given, by the rule that routed it. */
export type DeviceControlKind = 'response' | 'state' | 'subscribed';

// The raw payload travels base64-encoded, as for telemetry, so a malformed answer or report
// reaches the handler and gets a dead-letter reason instead of vanishing in the rules engine.
const deviceMessageSql = (filter: string, kind: DeviceControlKind, extra = ''): string =>
  `SELECT encode(*, 'base64') AS payload, topic(3) AS thingName, clientid() AS clientId, ` +
  `timestamp() AS receivedAt, '${kind}' AS kind${extra} FROM '${filter}'`;

/**
 * Command answers: each, with the thing name from the topic, to the device control Lambda. An
 * MQTT 5 device may name the command by the correlation data it was given instead of an `id`;
 * the rule hands it on base64-encoded, as get_mqtt_property returns binary properties.
 */
export const COMMAND_RESPONSE_RULE: TopicRuleDefinition = {
  id: 'CommandResponseRule',
  ruleName: 'iot_platform_command_responses',
  description: 'Device answers to commands to the device control Lambda',
  topicFilter: COMMAND_RESPONSE_TOPIC_FILTER,
  sql: deviceMessageSql(COMMAND_RESPONSE_TOPIC_FILTER, 'response', ", get_mqtt_property('correlation_data') AS correlationData"),
  sqlVersion: RULE_SQL_VERSION,
  target: { kind: 'lambda', handler: 'deviceControl' },
};

/** Reported state: each merge patch, with the thing name from the topic, to the device control Lambda. */
export const STATE_RULE: TopicRuleDefinition = {
  id: 'StateRule',
  ruleName: 'iot_platform_state',
  description: 'Reported device state (merge patches) to the device control Lambda',
  topicFilter: STATE_TOPIC_FILTER,
  sql: deviceMessageSql(STATE_TOPIC_FILTER, 'state'),
  sqlVersion: RULE_SQL_VERSION,
  target: { kind: 'lambda', handler: 'deviceControl' },
};

/**
 * Subscription lifecycle events: a device that subscribes to its command or delta topic gets
 * its queued commands and current delta then. Delivering on the connected event instead would
 * race the device's SUBSCRIBE, and a clean session would drop what arrived first.
 */
export const SUBSCRIBED_RULE: TopicRuleDefinition = {
  id: 'SubscribedRule',
  ruleName: 'iot_platform_subscriptions',
  description: 'Subscription lifecycle events to the device control Lambda (queued commands, current delta)',
  topicFilter: SUBSCRIBED_TOPIC_FILTER,
  sql: `SELECT *, 'subscribed' AS kind FROM '${SUBSCRIBED_TOPIC_FILTER}'`,
  sqlVersion: RULE_SQL_VERSION,
  target: { kind: 'lambda', handler: 'deviceControl' },
};

/** Every rule, in deployment order. */
export const TOPIC_RULES: readonly TopicRuleDefinition[] = [TELEMETRY_RULE, PRESENCE_RULE, COMMAND_RESPONSE_RULE, STATE_RULE, SUBSCRIBED_RULE];

/**
 * The JSON object the telemetry rule writes as one Kinesis record's data. The ingest Lambda
 * receives it base64-encoded in `Records[i].kinesis.data`, with `partitionKey` = thingName.
 */
export interface TelemetryRuleOutput {
  /** The device's payload bytes, base64 (standard alphabet, padded). */
  readonly payload: string;
  /** Topic level 3: the thing name (= device id). */
  readonly thingName: string;
  readonly clientId: string;
  /** Epoch milliseconds when the rules engine received the message. */
  readonly receivedAt: number;
}

/**
 * The IoT lifecycle event the presence rule delivers (`SELECT *`), as AWS documents it. The
 * presence Lambda receives exactly this object as its event.
 */
export interface PresenceEvent {
  readonly clientId: string;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  readonly eventType: 'connected' | 'disconnected';
  readonly sessionIdentifier?: string;
  readonly principalIdentifier?: string;
  readonly ipAddress?: string;
  /** Increases per client id; orders events with equal timestamps. */
  readonly versionNumber: number;
  /** Disconnected events only. */
  readonly clientInitiatedDisconnect?: boolean;
  /** Disconnected events only: AUTH_ERROR, CLIENT_INITIATED_DISCONNECT, CONNECTION_LOST, ... */
  readonly disconnectReason?: string;
}
