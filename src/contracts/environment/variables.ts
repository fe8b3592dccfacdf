/**
 * Names of the environment variables that more than one function (or the gRPC service) reads.
 * The CDK constructs set them from here and the readers in this folder read them from here.
 * Table name variables live with their tables (`tableNameEnv` in tables.ts).
 */
export const VARIABLES = {
  /** Where the telemetry of the platform lives: `dynamodb` or `timestream` (stack flag telemetryStore). */
  telemetryStore: 'TELEMETRY_STORE',
  /** Days a DynamoDB telemetry point is kept. */
  telemetryRetentionDays: 'TELEMETRY_RETENTION_DAYS',
  timestreamDatabaseName: 'TIMESTREAM_DATABASE_NAME',
  timestreamTableName: 'TIMESTREAM_TABLE_NAME',
  /** SQS queue for refused device records and lifecycle events, with reasons. */
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  /** The page-token HMAC key itself (local and tests only). */
  pageTokenSecret: 'PAGE_TOKEN_SECRET',
  /** A Secrets Manager ARN holding the page-token HMAC key (the cloud). */
  pageTokenSecretArn: 'PAGE_TOKEN_SECRET_ARN',
  /** AppSync endpoint the events function publishes `deviceUpdated` through. */
  appSyncGraphqlUrl: 'APPSYNC_GRAPHQL_URL',
  /** `true` when the events function republishes changes on the internal IoT change topics. */
  changeTopicEnabled: 'CHANGE_TOPIC_ENABLED',
  /** `true` when the events function revokes and detaches a deleted device's IoT certificate. */
  retireDeletedCredentials: 'RETIRE_DELETED_CREDENTIALS',
  /** `false` stops fanning telemetry-only changes out to the change publishers. */
  publishTelemetryChanges: 'PUBLISH_TELEMETRY_CHANGES',
  /** EventBridge bus the alarm-events function puts alarm transitions on. */
  alarmEventBusName: 'ALARM_EVENT_BUS_NAME',
  /** SNS topic the alarm-events function publishes alarm transitions to (stack output AlarmNotificationsTopicArn). */
  alarmTopicArn: 'ALARM_TOPIC_ARN',
  /** `true` when the alarm-events function republishes transitions on the internal IoT alarm topics (WatchAlarms). */
  alarmTopicEnabled: 'ALARM_TOPIC_ENABLED',
  /** Set by the Lambda and ECS runtimes. */
  region: 'AWS_REGION',
  regionFallback: 'AWS_DEFAULT_REGION',
} as const;
