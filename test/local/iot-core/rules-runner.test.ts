import { describe, expect, it } from 'vitest';
import { basicIngestTopic, commandResponseTopic, presenceTopic, stateTopic, telemetryTopic } from '../../../src/contracts/topics.js';
import { COMMAND_RESPONSE_RULE, PRESENCE_RULE, TELEMETRY_RULE, TELEMETRY_RULE_NAME, type TopicRuleDefinition } from '../../../src/contracts/rules.js';
import { telemetryRuleOutput } from '../../../src/local/iot-core/telemetry-rule-output.js';
import { compileRule, startRulesRunner, type RuleInput, type RuleTargets } from '../../../src/local/iot-core/rules-runner.js';

const THING = 'thing-1';
const input = (topic: string, payload: string | Buffer): RuleInput => ({
  topic,
  payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
  clientId: THING,
  receivedAt: 1_700_000_000_000,
});

describe('compileRule', () => {
  it.each([
    ['Basic Ingest', basicIngestTopic(TELEMETRY_RULE_NAME, telemetryTopic(THING))],
    ['plain', telemetryTopic(THING)],
  ])('evaluates the telemetry rule SQL exactly as the documented output (%s topic)', (_kind, topic) => {
    // Prepare
    const rule = compileRule(TELEMETRY_RULE);
    const message = input(topic, Buffer.from([0x7b, 0xff, 0x00]));

    // Act
    const ruleTopic = rule.route(message.topic)!;
    const value = rule.select(message, ruleTopic);

    // Assess
    expect(value).toEqual(telemetryRuleOutput(topic, message.payload, THING, message.receivedAt));
    expect(rule.partitionKey(message, ruleTopic)).toBe(THING);
  });

  it('does not route a Basic Ingest publish addressed to another rule, nor other topics', () => {
    // Prepare
    const rule = compileRule(TELEMETRY_RULE);

    // Act / Assess
    expect(rule.route(basicIngestTopic('other_rule', telemetryTopic(THING)))).toBeUndefined();
    expect(rule.route(stateTopic(THING))).toBeUndefined();
    expect(rule.route(`${telemetryTopic(THING)}/x`)).toBeUndefined();
  });

  it('passes a lifecycle event through SELECT * unchanged', () => {
    // Prepare
    const rule = compileRule(PRESENCE_RULE);
    const event = { clientId: THING, timestamp: 1, eventType: 'connected', versionNumber: 3 };
    const message = input(presenceTopic('connected', THING), JSON.stringify(event));

    // Act
    const value = rule.select(message, rule.route(message.topic)!);

    // Assess
    expect(value).toEqual(event);
  });

  it('hands an MQTT 5 answer\'s correlation data on base64-encoded, as get_mqtt_property does, and leaves it out for MQTT 3.1.1', () => {
    // Prepare
    const rule = compileRule(COMMAND_RESPONSE_RULE);
    const topic = commandResponseTopic(THING);
    const v5 = { ...input(topic, '{"v":1,"status":"SUCCEEDED"}'), properties: { correlationData: Buffer.from('c0ffee', 'utf8') } };
    const v311 = input(topic, '{"v":1,"id":"c0ffee","status":"SUCCEEDED"}');

    // Act
    const fromV5 = rule.select(v5, rule.route(topic)!);
    const fromV311 = rule.select(v311, rule.route(topic)!);

    // Assess
    expect(fromV5).toMatchObject({ kind: 'response', thingName: THING, correlationData: Buffer.from('c0ffee').toString('base64') });
    expect(fromV311).not.toHaveProperty('correlationData');
    expect(() => compileRule({ ...COMMAND_RESPONSE_RULE, sql: `SELECT get_mqtt_property('user_properties') AS u FROM '${COMMAND_RESPONSE_RULE.topicFilter}'` })).toThrow(/Unsupported MQTT property/);
  });

  it('refuses SQL outside the supported subset at compile time', () => {
    // Prepare
    const base: TopicRuleDefinition = { ...PRESENCE_RULE };

    // Act / Assess
    expect(() => compileRule({ ...base, sql: `SELECT * FROM '${base.topicFilter}' WHERE x > 1` })).toThrow(/Unsupported/);
    expect(() => compileRule({ ...base, sql: `SELECT upper(x) AS y FROM '${base.topicFilter}'` })).toThrow(/Unsupported/);
    expect(() => compileRule({ ...base, sql: `SELECT * FROM 'other/+'` })).toThrow(/differs/);
  });
});

/** Targets that record every call; Lambda fails the first `lambdaFailures` times. */
function recordingTargets(lambdaFailures = 0) {
  const calls = { kinesis: [] as Array<[string, string]>, lambda: [] as unknown[], errors: [] as string[] };
  let failures = lambdaFailures;
  const targets: RuleTargets = {
    kinesis: (_rule, partitionKey, data) => void calls.kinesis.push([partitionKey, data]),
    lambda: async (_rule, _handler, event) => {
      calls.lambda.push(event);
      if (failures-- > 0) throw new Error('lambda down');
    },
    error: async (rule, _input, reason) => void calls.errors.push(`${rule.ruleName}: ${reason}`),
  };
  return { calls, targets };
}

function fakeSource() {
  const listeners = new Set<(input: RuleInput) => Promise<void> | void>();
  return {
    onPublish: (listener: (input: RuleInput) => Promise<void> | void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Resolves when every listener let the publish complete (the broker's publish callback). */
    emit: (message: RuleInput) => Promise.all([...listeners].map((l) => l(message))).then(() => undefined),
  };
}

describe('startRulesRunner', () => {
  it('sends telemetry to Kinesis, lifecycle events to the presence Lambda and reported state to the device control Lambda', async () => {
    // Prepare
    const source = fakeSource();
    const { calls, targets } = recordingTargets();
    const runner = startRulesRunner({ source, targets });

    // Act
    source.emit(input(basicIngestTopic(TELEMETRY_RULE_NAME, telemetryTopic(THING)), '{"v":1}'));
    source.emit(input(presenceTopic('disconnected', THING), '{"clientId":"thing-1"}'));
    source.emit(input(stateTopic(THING), '{"on":true}'));
    await runner.stop();

    // Assess
    expect(calls.kinesis).toHaveLength(1);
    expect(calls.kinesis[0]![0]).toBe(THING);
    expect(JSON.parse(calls.kinesis[0]![1])).toMatchObject({ thingName: THING, payload: Buffer.from('{"v":1}').toString('base64') });
    expect(calls.lambda).toHaveLength(2);
    expect(calls.lambda[0]).toEqual({ clientId: THING });
    expect(calls.lambda[1]).toMatchObject({ kind: 'state', thingName: THING, payload: Buffer.from('{"on":true}').toString('base64') });
    expect(calls.errors).toEqual([]);
  });

  it('retries a failing Lambda twice, then uses the error action', async () => {
    // Prepare
    const source = fakeSource();
    const { calls, targets } = recordingTargets(5);
    const runner = startRulesRunner({ source, targets });

    // Act
    source.emit(input(presenceTopic('connected', THING), '{"clientId":"thing-1"}'));
    await runner.flush();

    // Assess
    expect(calls.lambda).toHaveLength(3);
    expect(calls.errors).toEqual([`${PRESENCE_RULE.ruleName}: LAMBDA_FAILED: lambda down`]);
    await runner.stop();
  });

  it('sends a lifecycle payload that is not JSON to the error action', async () => {
    // Prepare
    const source = fakeSource();
    const { calls, targets } = recordingTargets();
    const runner = startRulesRunner({ source, targets });

    // Act
    source.emit(input(presenceTopic('connected', THING), 'not json'));
    await runner.stop();

    // Assess
    expect(calls.lambda).toEqual([]);
    expect(calls.errors).toHaveLength(1);
  });

  it('runs at most maxLambdaInFlight invocations; further publishes wait for a slot and none is dropped', async () => {
    // Prepare: a Lambda that holds every invocation until released
    const source = fakeSource();
    const started: string[] = [];
    const releases: Array<() => void> = [];
    const targets: RuleTargets = {
      kinesis: () => undefined,
      lambda: async (_rule, _handler, event) => {
        started.push(String(event.clientId));
        await new Promise<void>((resolve) => releases.push(resolve));
      },
      error: async () => undefined,
    };
    const runner = startRulesRunner({ source, targets, maxLambdaInFlight: 2 });
    const completed: string[] = [];

    // Act: five lifecycle events published while the Lambda is stuck
    const publishes = ['a', 'b', 'c', 'd', 'e'].map((id) =>
      source.emit(input(presenceTopic('connected', id), JSON.stringify({ clientId: id }))).then(() => completed.push(id)),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const whileStuck = { started: [...started], completed: [...completed], load: runner.lambdaLoad() };
    while (started.length < 5 || releases.length > 0) {
      releases.splice(0).forEach((release) => release());
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(publishes);
    await runner.stop();

    // Assess: two ran, their two publishers completed, three publishers waited; then all five ran in order
    expect(whileStuck).toEqual({ started: ['a', 'b'], completed: ['a', 'b'], load: { inFlight: 2, waiting: 3 } });
    expect(started).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(completed).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(runner.lambdaLoad()).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('holds back a client publish routed to a Lambda (its PUBACK) until an invocation slot is free', async () => {
    // Prepare
    const source = fakeSource();
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const targets: RuleTargets = { kinesis: () => undefined, lambda: () => stuck, error: async () => undefined };
    const runner = startRulesRunner({ source, targets, maxLambdaInFlight: 1, gatesClientPublishes: true });
    await runner.accept(input(stateTopic(THING), '{"on":true}'));

    // Act
    let acknowledged = false;
    const second = runner.accept(input(stateTopic(THING), '{"on":false}')).then(() => (acknowledged = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const beforeRelease = acknowledged;
    release();
    await second;
    await runner.stop();

    // Assess
    expect(beforeRelease).toBe(false);
    expect(acknowledged).toBe(true);
  });
});
