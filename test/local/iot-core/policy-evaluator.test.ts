import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/errors.js';
import { commandTopic, telemetryTopic } from '../../../src/contracts/topics.js';
import { devicePolicyDocument, LOCAL_POLICY_PARAMS, type PolicyDocument } from '../../../src/contracts/iot-policy.js';
import { createMqttAuthorizer, evaluatePolicy, type ConnectionContext } from '../../../src/local/iot-core/policy-evaluator.js';
import { OTHER, POLICY_CASES, TEST_RULE_NAME, THING } from '../../devices/policy-cases.js';

const params = { ...LOCAL_POLICY_PARAMS, telemetryRuleName: TEST_RULE_NAME };
const document = devicePolicyDocument(params);
const authorizer = createMqttAuthorizer(document, params);

/** IoT's view of a connection by a device holding THING's certificate. */
function contextFor(clientId: string, attachedThing = THING): ConnectionContext {
  const isAttached = clientId === attachedThing;
  return { clientId, isAttached, ...(isAttached && { thingName: clientId }) };
}

describe('device policy document', () => {
  it.each(POLICY_CASES)('$name: allowed=$allowed', ({ clientId, operation, topic, allowed }) => {
    // Prepare
    const context = contextFor(clientId);

    // Act
    const decision =
      operation === 'connect'
        ? authorizer.canConnect(context)
        : operation === 'publish'
          ? authorizer.canPublish(context, topic!)
          : operation === 'retainPublish'
            ? authorizer.canRetainPublish(context, topic!)
            : authorizer.canSubscribe(context, topic!);

    // Assess
    expect(decision.allowed).toBe(allowed);
  });

  it('keeps the thing-name policy variable literal', () => {
    // Act
    const json = JSON.stringify(document);

    // Assess
    expect(json).toContain('client/${iot:Connection.Thing.ThingName}');
    expect(json).toContain('"iot:Connection.Thing.IsAttached":"true"');
  });

  it('receives only its own command topic', () => {
    // Prepare
    const context = contextFor(THING);

    // Act / Assess
    expect(authorizer.canReceive(context, commandTopic(THING)).allowed).toBe(true);
    expect(authorizer.canReceive(context, commandTopic(OTHER)).allowed).toBe(false);
  });

  it('denies connect when the thing is not attached even with a matching client id', () => {
    // Prepare
    const context: ConnectionContext = { clientId: THING, thingName: THING, isAttached: false };

    // Act
    const decision = authorizer.canConnect(context);

    // Assess
    expect(decision).toEqual({ allowed: false, reason: 'implicit-deny' });
  });

  it('denies everything when the thing name cannot be resolved', () => {
    // Prepare
    const context: ConnectionContext = { clientId: THING, isAttached: false };

    // Act / Assess
    expect(authorizer.canPublish(context, telemetryTopic(THING)).allowed).toBe(false);
    expect(authorizer.canSubscribe(context, commandTopic(THING)).allowed).toBe(false);
  });

  it('does not let a client id containing wildcards widen a resource', () => {
    // Prepare: a client id that would match any resource if substituted as a wildcard
    const wild: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'iot:Publish', Resource: 'arn:aws:iot:r:a:topic/t/${iot:ClientId}' }],
    };
    const context: ConnectionContext = { clientId: '*', isAttached: false };

    // Act / Assess
    expect(evaluatePolicy(wild, 'iot:Publish', 'arn:aws:iot:r:a:topic/t/anything', context).allowed).toBe(false);
    expect(evaluatePolicy(wild, 'iot:Publish', 'arn:aws:iot:r:a:topic/t/*', context).allowed).toBe(true);
  });
});

describe('evaluatePolicy', () => {
  const context: ConnectionContext = { clientId: 'dev-1', thingName: 'dev-1', isAttached: true };

  it('lets an explicit deny win over an allow', () => {
    // Prepare
    const policy: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'all', Effect: 'Allow', Action: 'iot:*', Resource: '*' },
        { Sid: 'no-secret', Effect: 'Deny', Action: 'iot:Publish', Resource: 'arn:aws:iot:r:a:topic/secret/*' },
      ],
    };

    // Act
    const denied = evaluatePolicy(policy, 'iot:Publish', 'arn:aws:iot:r:a:topic/secret/x', context);
    const allowed = evaluatePolicy(policy, 'iot:Publish', 'arn:aws:iot:r:a:topic/open/x', context);

    // Assess
    expect(denied).toEqual({ allowed: false, reason: 'explicit-deny', statement: 'no-secret' });
    expect(allowed).toEqual({ allowed: true, reason: 'explicit-allow', statement: 'all' });
  });

  it('treats ? as one character and MQTT wildcards as literals', () => {
    // Prepare
    const policy: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'iot:Subscribe', Resource: 'arn:aws:iot:r:a:topicfilter/room/?/temp' },
        { Effect: 'Allow', Action: 'iot:Subscribe', Resource: 'arn:aws:iot:r:a:topicfilter/house/+' },
      ],
    };

    // Act / Assess
    expect(evaluatePolicy(policy, 'iot:Subscribe', 'arn:aws:iot:r:a:topicfilter/room/1/temp', context).allowed).toBe(true);
    expect(evaluatePolicy(policy, 'iot:Subscribe', 'arn:aws:iot:r:a:topicfilter/room/12/temp', context).allowed).toBe(false);
    expect(evaluatePolicy(policy, 'iot:Subscribe', 'arn:aws:iot:r:a:topicfilter/house/+', context).allowed).toBe(true);
    expect(evaluatePolicy(policy, 'iot:Subscribe', 'arn:aws:iot:r:a:topicfilter/house/kitchen', context).allowed).toBe(false);
  });

  it('does not confuse a topic with a topic filter resource', () => {
    // Prepare
    const policy: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['iot:Subscribe', 'iot:Receive'], Resource: 'arn:aws:iot:r:a:topic/a/b' }],
    };

    // Act / Assess
    expect(evaluatePolicy(policy, 'iot:Subscribe', 'arn:aws:iot:r:a:topicfilter/a/b', context).allowed).toBe(false);
    expect(evaluatePolicy(policy, 'iot:Receive', 'arn:aws:iot:r:a:topic/a/b', context).allowed).toBe(true);
  });

  it('evaluates StringLike and StringNotEquals conditions', () => {
    // Prepare
    const policy: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'iot:Connect', Resource: '*', Condition: { StringLike: { 'iot:ClientId': 'dev-*' } } },
        { Effect: 'Deny', Action: 'iot:Connect', Resource: '*', Condition: { StringNotEquals: { 'iot:ClientId': ['dev-1', 'dev-2'] } } },
      ],
    };

    // Act / Assess
    expect(evaluatePolicy(policy, 'iot:Connect', 'arn:aws:iot:r:a:client/dev-1', context).allowed).toBe(true);
    expect(evaluatePolicy(policy, 'iot:Connect', 'x', { clientId: 'dev-3', isAttached: false }).reason).toBe('explicit-deny');
    expect(evaluatePolicy(policy, 'iot:Connect', 'x', { clientId: 'sensor', isAttached: false }).reason).toBe('explicit-deny');
  });

  it('rejects an unknown condition operator instead of ignoring it', () => {
    // Prepare
    const policy: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'iot:Connect', Resource: '*', Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01' } } }],
    };

    // Act / Assess
    expect(() => evaluatePolicy(policy, 'iot:Connect', 'x', context)).toThrow(ValidationError);
  });
});
