import { TELEMETRY_RULE, type TelemetryRuleOutput } from '../../contracts/rules.js';
import { parseBasicIngestTopic, topicMatches } from '../../contracts/topics.js';

/**
 * What the telemetry rule outputs for a message, as the cloud rules engine computes it from
 * TELEMETRY_RULE.sql; undefined when the topic does not match. For the local rules runner and the ingest bench.
 */
export function telemetryRuleOutput(
  topic: string,
  payload: Uint8Array,
  clientId: string,
  receivedAt: number,
): TelemetryRuleOutput | undefined {
  const ingest = parseBasicIngestTopic(topic);
  if (ingest && ingest.ruleName !== TELEMETRY_RULE.ruleName) return undefined;
  const ruleTopic = ingest ? ingest.topic : topic;
  if (!topicMatches(TELEMETRY_RULE.topicFilter, ruleTopic)) return undefined;
  return {
    payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64'),
    thingName: ruleTopic.split('/')[2]!,
    clientId,
    receivedAt,
  };
}
