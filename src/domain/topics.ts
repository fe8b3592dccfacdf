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
