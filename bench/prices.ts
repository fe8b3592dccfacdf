/**
 * us-east-1 list prices used by bench/ingest.ts, each with the public pricing page it comes
 * from (read in 2026; re-check before quoting). Free tiers are ignored: at fleet scale they
 * are noise. Prices are per unit named in the key.
 */
export interface Price {
  /** USD per unit. */
  readonly usd: number;
  readonly unit: string;
  readonly source: string;
}

const IOT = 'https://aws.amazon.com/iot-core/pricing/';
const KINESIS = 'https://aws.amazon.com/kinesis/data-streams/pricing/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const DYNAMODB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const TIMESTREAM = 'https://aws.amazon.com/timestream/pricing/';
const APPSYNC = 'https://aws.amazon.com/appsync/pricing/';
const EVENTBRIDGE = 'https://aws.amazon.com/eventbridge/pricing/';
const SNS = 'https://aws.amazon.com/sns/pricing/';
const IOT_EVENTS = 'https://aws.amazon.com/iot-events/pricing/';

export const PRICES = {
  /**
   * Messaging, first billion messages a month (5 KB increments; Basic Ingest messages are not
   * charged). A data-plane Publish is one message and each delivery to a subscriber another.
   */
  iotMessage: { usd: 1.0 / 1e6, unit: 'message (5 KB)', source: `${IOT} (Messaging, up to 1 billion messages)` },
  /** Device Shadow and registry operations, each in 1 KB increments of the document. */
  deviceShadowOperation: { usd: 1.25 / 1e6, unit: 'Device Shadow operation (1 KB)', source: `${IOT} (Device Shadow and Registry, per million operations)` },
  /** Connectivity, per connection-minute. */
  iotConnectionMinute: { usd: 0.08 / 1e6, unit: 'connection-minute', source: `${IOT} (Connectivity)` },
  /** Rules Engine: each rule triggered (per 5 KB of payload). */
  iotRuleTriggered: { usd: 0.15 / 1e6, unit: 'rule triggered', source: `${IOT} (Rules Engine, rules triggered)` },
  /** Rules Engine: each action executed. */
  iotActionExecuted: { usd: 0.15 / 1e6, unit: 'action executed', source: `${IOT} (Rules Engine, actions executed)` },
  /** Provisioned stream: shard-hour. */
  kinesisShardHour: { usd: 0.015, unit: 'shard-hour', source: `${KINESIS} (Provisioned, shard hour)` },
  /** Provisioned stream: each shard-hour of retention beyond the included 24 h, up to 7 days (docs/runbook.md, replay window). */
  kinesisExtendedRetentionShardHour: { usd: 0.02, unit: 'shard-hour of extended retention', source: `${KINESIS} (Provisioned, extended data retention up to 7 days)` },
  /** Provisioned stream: PUT payload unit (each record, in 25 KB units). */
  kinesisPutUnit: { usd: 0.014 / 1e6, unit: 'PUT payload unit (25 KB)', source: `${KINESIS} (Provisioned, PUT payload units)` },
  /** On-demand stream: stream-hour. */
  kinesisOnDemandStreamHour: { usd: 0.04, unit: 'stream-hour', source: `${KINESIS} (On-demand, per stream hour)` },
  /** On-demand: data ingested, each record rounded up to 1 KB. */
  kinesisOnDemandIngestGb: { usd: 0.08, unit: 'GB ingested (records rounded up to 1 KB)', source: `${KINESIS} (On-demand, data ingested)` },
  /** On-demand: data retrieved. */
  kinesisOnDemandRetrievalGb: { usd: 0.04, unit: 'GB retrieved', source: `${KINESIS} (On-demand, data retrievals)` },
  /** Lambda requests. */
  lambdaRequest: { usd: 0.2 / 1e6, unit: 'request', source: `${LAMBDA} (Requests)` },
  /** Lambda duration on arm64 (first 7.5 billion GB-s a month). */
  lambdaArmGbSecond: { usd: 0.0000133334, unit: 'GB-second (arm64)', source: `${LAMBDA} (Duration, Arm price)` },
  /** DynamoDB on-demand write request unit (1 KB, standard table class; price after the Nov 2024 reduction). */
  dynamoWriteUnit: { usd: 0.625 / 1e6, unit: 'write request unit (1 KB)', source: `${DYNAMODB} (Write request units)` },
  /** DynamoDB on-demand read request unit (4 KB strongly consistent, or 8 KB eventually consistent at half a unit). */
  dynamoReadUnit: { usd: 0.125 / 1e6, unit: 'read request unit (4 KB)', source: `${DYNAMODB} (Read request units)` },
  /** EventBridge custom events put on a bus (64 KB chunks). */
  eventBridgeEvent: { usd: 1.0 / 1e6, unit: 'custom event (64 KB)', source: `${EVENTBRIDGE} (Event buses, custom events)` },
  /** SNS publish requests (64 KB chunks); deliveries to e-mail or HTTP are the subscriber's choice and not counted. */
  snsPublish: { usd: 0.5 / 1e6, unit: 'publish request (64 KB)', source: `${SNS} (Standard topics, API requests)` },
  /** AWS IoT Events message evaluations (1 KB increments), us-east-1, the last list price before support ended on 2026-05-20. */
  iotEventsMessageEvaluation: { usd: 15.0 / 1e6, unit: 'message evaluation (1 KB)', source: `${IOT_EVENTS} (Message evaluations, US East (N. Virginia) $15.00 per million)` },
  /** AWS IoT Events alarms: each alarm that evaluated a message in the month. */
  iotEventsAlarmMonth: { usd: 0.1, unit: 'active alarm-month', source: `${IOT_EVENTS} (Alarms, $0.10 per alarm per month)` },
  /** Timestream for LiveAnalytics writes, in 1 KiB units per request. */
  timestreamWrite: { usd: 0.5 / 1e6, unit: 'write (1 KiB)', source: `${TIMESTREAM} (LiveAnalytics, writes)` },
  /** AppSync GraphQL query and mutation operations (the change feed's publishDeviceUpdate). */
  appSyncOperation: { usd: 4.0 / 1e6, unit: 'query/mutation operation', source: `${APPSYNC} (GraphQL, query and data modification operations)` },
  /** AppSync GraphQL real-time updates: each message delivered to a subscriber (5 KB increments). */
  appSyncRealtimeUpdate: { usd: 2.0 / 1e6, unit: 'real-time update (5 KB)', source: `${APPSYNC} (GraphQL, real-time updates)` },
} as const satisfies Record<string, Price>;

/** Hours in the 30-day month the cost figures (README) use. */
export const HOURS_PER_MONTH = 720;
