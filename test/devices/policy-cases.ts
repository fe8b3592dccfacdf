/**
 * One table of allowed and denied device operations, checked against the policy document by
 * the evaluator test and against the running broker by the broker test, so both agree.
 */
import { basicIngestTopic, changeTopic, commandChangeTopic, commandResponseTopic, commandTopic, presenceTopic, stateTopic, subscriptionEventTopic, telemetryTopic, twinDeltaTopic } from '../../src/contracts/topics.js';

export const TEST_RULE_NAME = 'telemetry_ingest';

/** The connecting device: its certificate names THING; OTHER is another registered thing. */
export const THING = 'c0ffee00-0000-4000-8000-000000000001';
export const OTHER = 'c0ffee00-0000-4000-8000-000000000002';

export interface PolicyCase {
  readonly name: string;
  /** Client id the device connects with (its certificate is always THING's). */
  readonly clientId: string;
  /** retainPublish: a publish with the retain flag, which also needs iot:RetainPublish. */
  readonly operation: 'connect' | 'publish' | 'retainPublish' | 'subscribe';
  /** Topic or topic filter for publish/subscribe. */
  readonly topic?: string;
  readonly allowed: boolean;
}

export const POLICY_CASES: readonly PolicyCase[] = [
  { name: 'connect with its own thing name', clientId: THING, operation: 'connect', allowed: true },
  { name: 'connect as another thing', clientId: OTHER, operation: 'connect', allowed: false },
  { name: 'connect with an arbitrary client id', clientId: 'sensor-1', operation: 'connect', allowed: false },
  { name: 'publish own telemetry through Basic Ingest', clientId: THING, operation: 'publish', topic: basicIngestTopic(TEST_RULE_NAME, telemetryTopic(THING)), allowed: true },
  { name: 'publish own telemetry', clientId: THING, operation: 'publish', topic: telemetryTopic(THING), allowed: true },
  { name: 'publish own state', clientId: THING, operation: 'publish', topic: stateTopic(THING), allowed: true },
  { name: "publish another device's telemetry", clientId: THING, operation: 'publish', topic: telemetryTopic(OTHER), allowed: false },
  { name: "publish another device's telemetry through Basic Ingest", clientId: THING, operation: 'publish', topic: basicIngestTopic(TEST_RULE_NAME, telemetryTopic(OTHER)), allowed: false },
  { name: 'publish own telemetry to another rule', clientId: THING, operation: 'publish', topic: basicIngestTopic('other_rule', telemetryTopic(THING)), allowed: false },
  { name: "publish another device's state", clientId: THING, operation: 'publish', topic: stateTopic(OTHER), allowed: false },
  { name: 'publish to its own command topic', clientId: THING, operation: 'publish', topic: commandTopic(THING), allowed: false },
  { name: 'publish a sub-topic of its telemetry', clientId: THING, operation: 'publish', topic: `${telemetryTopic(THING)}/extra`, allowed: false },
  { name: 'publish a forged lifecycle event', clientId: THING, operation: 'publish', topic: presenceTopic('connected', OTHER), allowed: false },
  { name: 'publish to the internal change topic', clientId: THING, operation: 'publish', topic: changeTopic(OTHER), allowed: false },
  { name: 'subscribe own command topic', clientId: THING, operation: 'subscribe', topic: commandTopic(THING), allowed: true },
  { name: "subscribe another device's command topic", clientId: THING, operation: 'subscribe', topic: commandTopic(OTHER), allowed: false },
  { name: 'subscribe every command topic', clientId: THING, operation: 'subscribe', topic: 'cmd/iot/+/commands', allowed: false },
  { name: 'subscribe everything', clientId: THING, operation: 'subscribe', topic: '#', allowed: false },
  { name: 'subscribe below its own command topic', clientId: THING, operation: 'subscribe', topic: `${commandTopic(THING)}/#`, allowed: false },
  { name: 'subscribe its own telemetry', clientId: THING, operation: 'subscribe', topic: telemetryTopic(THING), allowed: false },
  { name: 'subscribe the internal change feed', clientId: THING, operation: 'subscribe', topic: 'internal/device-changes/#', allowed: false },
  { name: 'subscribe lifecycle events', clientId: THING, operation: 'subscribe', topic: '$aws/events/presence/+/+', allowed: false },
  { name: 'publish an answer on its own response topic', clientId: THING, operation: 'publish', topic: commandResponseTopic(THING), allowed: true },
  { name: "publish an answer on another device's response topic", clientId: THING, operation: 'publish', topic: commandResponseTopic(OTHER), allowed: false },
  { name: 'subscribe its own response topic', clientId: THING, operation: 'subscribe', topic: commandResponseTopic(THING), allowed: false },
  { name: 'subscribe its own twin delta', clientId: THING, operation: 'subscribe', topic: twinDeltaTopic(THING), allowed: true },
  { name: "subscribe another device's twin delta", clientId: THING, operation: 'subscribe', topic: twinDeltaTopic(OTHER), allowed: false },
  { name: 'publish to its own twin delta', clientId: THING, operation: 'publish', topic: twinDeltaTopic(THING), allowed: false },
  { name: 'publish a forged subscription event', clientId: THING, operation: 'publish', topic: subscriptionEventTopic('subscribed', THING), allowed: false },
  { name: 'subscribe the internal command changes', clientId: THING, operation: 'subscribe', topic: 'internal/command-changes/#', allowed: false },
  { name: 'publish to the internal command change topic', clientId: THING, operation: 'publish', topic: commandChangeTopic(THING), allowed: false },
  { name: 'publish own telemetry retained', clientId: THING, operation: 'retainPublish', topic: telemetryTopic(THING), allowed: false },
  { name: 'publish own state retained', clientId: THING, operation: 'retainPublish', topic: stateTopic(THING), allowed: false },
];
