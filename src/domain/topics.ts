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
