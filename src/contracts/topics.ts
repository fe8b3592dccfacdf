/**
 * MQTT topic names, shared by the IoT policy (CDK), the local broker's authorizer, the rules,
 * the device contract and the simulator. Follows AWS's topic design guidance: `dt/` for
 * device data, `cmd/` for commands, the thing name as the device's own scope.
 */

/** Telemetry a device publishes (through Basic Ingest in the cloud). */
export const telemetryTopic = (thingName: string): string => `dt/iot/${thingName}/telemetry`;

/** Reported state a device publishes. */
export const stateTopic = (thingName: string): string => `dt/iot/${thingName}/state`;

/** Commands a device receives. */
export const commandTopic = (thingName: string): string => `cmd/iot/${thingName}/commands`;

/** Where a device answers its commands (IN_PROGRESS, then a final status). */
export const commandResponseTopic = (thingName: string): string => `cmd/iot/${thingName}/responses`;

/** Where a device receives the delta between its desired and reported state. */
export const twinDeltaTopic = (thingName: string): string => `cmd/iot/${thingName}/delta`;

/** IoT lifecycle events of a client's subscriptions. */
export const subscriptionEventTopic = (event: 'subscribed' | 'unsubscribed', clientId: string): string =>
  `$aws/events/subscriptions/${event}/${clientId}`;

/** Internal topic on which the change feed republishes every command change (never a device's). */
export const commandChangeTopic = (deviceId: string): string => `internal/command-changes/${deviceId}`;

/** Filter matching every command change topic. */
export const COMMAND_CHANGE_TOPIC_FILTER = 'internal/command-changes/#';

/** The Basic Ingest form of a topic: it goes straight to the named rule, with no messaging charge. */
export const basicIngestTopic = (ruleName: string, topic: string): string => `$aws/rules/${ruleName}/${topic}`;

/** IoT lifecycle (presence) event topics. */
export const presenceTopic = (event: 'connected' | 'disconnected', clientId: string): string =>
  `$aws/events/presence/${event}/${clientId}`;

/** Internal topic on which the change feed republishes every registry change (never a device's). */
export const changeTopic = (deviceId: string): string => `internal/device-changes/${deviceId}`;

/** Filter matching every change topic. */
export const CHANGE_TOPIC_FILTER = 'internal/device-changes/#';

/** Internal topic of one device's alarm transitions (the alarm stream consumer publishes, gRPC WatchAlarms relays). */
export const alarmTopic = (deviceId: string): string => `internal/alarm-changes/${deviceId}`;

/** Every device's alarm transitions. */
export const ALARM_TOPIC_FILTER = 'internal/alarm-changes/#';

/**
 * Internal topic of telemetry-only change batches (see device-change-codec.ts), under the
 * change filter so the gRPC tasks' one subscription gets both; never a device id (a UUID).
 */
export const TELEMETRY_BATCH_TOPIC = 'internal/device-changes/batch/telemetry';

/** Whether an MQTT topic matches a filter with `+` and `#` wildcards (the one matcher of the code base). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i += 1) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * A Basic Ingest topic `$aws/rules/<rule>/<topic>` split into the rule it names and the topic
 * the rule sees (rules match and read `topic(n)` without the prefix); undefined otherwise.
 */
export function parseBasicIngestTopic(topic: string): { ruleName: string; topic: string } | undefined {
  const match = /^\$aws\/rules\/([A-Za-z0-9_]+)\/(.+)$/.exec(topic);
  return match ? { ruleName: match[1]!, topic: match[2]! } : undefined;
}
