/**
 * Values of the live-update fan-out that the API construct (its subscription resolver) and the
 * runtime (the change feed, the local AppSync stand-in) must agree on.
 */

/**
 * Attribute of a Devices item, epoch seconds: until when a single-device subscription
 * (`deviceUpdated(id)`) watches it. Written when such a subscription starts; the change feed
 * publishes a device's telemetry-only changes one by one only while it is in the future.
 */
export const WATCHED_UNTIL_ATTRIBUTE = 'watchedUntil';

/** How long one subscribe keeps a device watched; a client that stays longer re-subscribes. */
export const WATCH_SECONDS = 24 * 60 * 60;

/** Telemetry-only changes per batch delivery (one AppSync mutation, one IoT Publish). */
export const TELEMETRY_BATCH_MAX_CHANGES = 100;

/**
 * graphql-ws has no per-subscription acknowledgement (AppSync's real-time protocol has
 * `start_ack`), so the local server announces a started subscription with a protocol ping whose
 * payload is `{ [SUBSCRIPTION_STARTED_FIELD]: <operation id> }`, sent once the subscription
 * listens. A client that reads after it sees every change the read misses.
 */
export const SUBSCRIPTION_STARTED_FIELD = 'subscriptionStarted';
