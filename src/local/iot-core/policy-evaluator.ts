/**
 * Evaluates an IoT policy document the way AWS IoT Core does: an explicit Deny wins, otherwise
 * an Allow is needed (implicit deny); policy variables are substituted from the connection;
 * `*` and `?` in resources are policy wildcards while MQTT's `+` and `#` are literal characters;
 * a subscription is checked against `topicfilter/<filter>`, a publish or delivery against
 * `topic/<topic>`. A variable that the connection cannot supply makes its element match nothing.
 */
import { ValidationError } from '../../domain/errors.js';
import { iotArnPrefix, type PolicyDocument, type PolicyStatement } from '../../contracts/iot-policy.js';

/** The IoT actions a device connection performs. */
export type IotAction = 'iot:Connect' | 'iot:Publish' | 'iot:RetainPublish' | 'iot:Subscribe' | 'iot:Receive';

/** What IoT knows about a connection when it evaluates a policy. */
export interface ConnectionContext {
  readonly clientId: string;
  /** The thing the connection is associated with (client id = a thing attached to the certificate). */
  readonly thingName?: string;
  /** Whether that thing is attached to the certificate the client presented. */
  readonly isAttached: boolean;
}

/** The decision and the statement that made it (absent for an implicit deny). */
export interface PolicyDecision {
  readonly allowed: boolean;
  readonly reason: 'explicit-allow' | 'explicit-deny' | 'implicit-deny';
  readonly statement?: string;
}

type Token = { kind: 'literal'; text: string } | { kind: 'star' } | { kind: 'one' };

const VARIABLE = /\$\{([^}]+)\}/g;

function contextValues(context: ConnectionContext): Record<string, string | undefined> {
  return {
    'iot:ClientId': context.clientId,
    'iot:Connection.Thing.ThingName': context.isAttached ? context.thingName : undefined,
    'iot:Connection.Thing.IsAttached': String(context.isAttached),
  };
}

/** Splits a policy string into literals and wildcards after substituting variables; undefined when a variable is unavailable. */
function tokenize(pattern: string, values: Record<string, string | undefined>): Token[] | undefined {
  const tokens: Token[] = [];
  const pushRaw = (raw: string) => {
    for (const char of raw) {
      if (char === '*') tokens.push({ kind: 'star' });
      else if (char === '?') tokens.push({ kind: 'one' });
      else tokens.push({ kind: 'literal', text: char });
    }
  };
  let last = 0;
  for (const match of pattern.matchAll(VARIABLE)) {
    pushRaw(pattern.slice(last, match.index));
    last = match.index + match[0].length;
    const name = match[1]!;
    // IAM's escapes for characters that would otherwise be wildcards or variable syntax.
    const special: Record<string, string> = { '*': '*', '?': '?', $: '$' };
    const value = special[name] ?? values[name];
    if (value === undefined) return undefined;
    tokens.push({ kind: 'literal', text: value });
  }
  pushRaw(pattern.slice(last));
  return tokens;
}

function matches(tokens: Token[], value: string, ignoreCase = false): boolean {
  const source = tokens
    .map((t) => (t.kind === 'star' ? '[\\s\\S]*' : t.kind === 'one' ? '[\\s\\S]' : t.text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'iu' : 'u').test(value);
}

const asList = (value: string | readonly string[]): readonly string[] => (typeof value === 'string' ? [value] : value);

function actionMatches(statement: PolicyStatement, action: string): boolean {
  return asList(statement.Action).some((pattern) => matches(tokenize(pattern, {})!, action, true));
}

function resourceMatches(statement: PolicyStatement, resource: string, values: Record<string, string | undefined>): boolean {
  return asList(statement.Resource).some((pattern) => {
    const tokens = tokenize(pattern, values);
    return tokens !== undefined && matches(tokens, resource);
  });
}

const KNOWN_OPERATORS = new Set(['Bool', 'StringEquals', 'StringEqualsIgnoreCase', 'StringNotEquals', 'StringLike', 'StringNotLike']);

function conditionHolds(operator: string, key: string, expected: readonly string[], values: Record<string, string | undefined>): boolean {
  if (!KNOWN_OPERATORS.has(operator)) {
    // Failing closed: an operator this evaluator does not know must not silently allow.
    throw new ValidationError(`Unsupported policy condition operator ${operator}`, 'Condition');
  }
  const actual = values[key];
  const negated = operator.startsWith('StringNot');
  if (actual === undefined) return negated;
  const literal = (pattern: string) => tokenize(pattern.replace(/[*?]/g, (c) => `\${${c}}`), values);
  const like = (pattern: string) => tokenize(pattern, values);
  const test = (build: (p: string) => Token[] | undefined, ignoreCase = false) =>
    expected.some((pattern) => {
      const tokens = build(pattern);
      return tokens !== undefined && matches(tokens, actual, ignoreCase);
    });
  switch (operator) {
    case 'Bool':
      return expected.some((e) => e.toLowerCase() === actual.toLowerCase());
    case 'StringEquals':
      return test(literal);
    case 'StringEqualsIgnoreCase':
      return test(literal, true);
    case 'StringNotEquals':
      return !test(literal);
    case 'StringLike':
      return test(like);
    default:
      return !test(like);
  }
}

function conditionsHold(statement: PolicyStatement, values: Record<string, string | undefined>): boolean {
  return Object.entries(statement.Condition ?? {}).every(([operator, entries]) =>
    Object.entries(entries).every(([key, expected]) => conditionHolds(operator, key, asList(expected), values)),
  );
}

/** Decides whether `action` on `resource` (a full IoT ARN) is allowed for this connection. */
export function evaluatePolicy(
  document: PolicyDocument,
  action: IotAction | string,
  resource: string,
  context: ConnectionContext,
): PolicyDecision {
  const values = contextValues(context);
  let allow: PolicyStatement | undefined;
  for (const statement of document.Statement) {
    if (!actionMatches(statement, action)) continue;
    if (!resourceMatches(statement, resource, values)) continue;
    if (!conditionsHold(statement, values)) continue;
    if (statement.Effect === 'Deny') return { allowed: false, reason: 'explicit-deny', statement: statement.Sid };
    allow ??= statement;
  }
  return allow
    ? { allowed: true, reason: 'explicit-allow', statement: allow.Sid }
    : { allowed: false, reason: 'implicit-deny' };
}

/** Builds the resource ARNs IoT checks for each MQTT operation. */
export function iotResourceArns(params: { partition?: string; region: string; account: string }) {
  const prefix = iotArnPrefix(params);
  return {
    /** iot:Connect */
    client: (clientId: string) => `${prefix}client/${clientId}`,
    /** iot:Publish, iot:RetainPublish and iot:Receive */
    topic: (topic: string) => `${prefix}topic/${topic}`,
    /** iot:Subscribe */
    topicFilter: (filter: string) => `${prefix}topicfilter/${filter}`,
  };
}

/** A device's authorizer bound to one policy document: the local broker's view of the IoT policy. */
export interface MqttAuthorizer {
  canConnect(context: ConnectionContext): PolicyDecision;
  canPublish(context: ConnectionContext, topic: string): PolicyDecision;
  /** A retained publish needs iot:RetainPublish on the topic besides iot:Publish, as in IoT Core. */
  canRetainPublish(context: ConnectionContext, topic: string): PolicyDecision;
  canSubscribe(context: ConnectionContext, filter: string): PolicyDecision;
  canReceive(context: ConnectionContext, topic: string): PolicyDecision;
}

/** An authorizer that evaluates `document` for each MQTT operation. */
export function createMqttAuthorizer(
  document: PolicyDocument,
  params: { partition?: string; region: string; account: string },
): MqttAuthorizer {
  const arns = iotResourceArns(params);
  return {
    canConnect: (context) => evaluatePolicy(document, 'iot:Connect', arns.client(context.clientId), context),
    canPublish: (context, topic) => evaluatePolicy(document, 'iot:Publish', arns.topic(topic), context),
    canRetainPublish: (context, topic) => evaluatePolicy(document, 'iot:RetainPublish', arns.topic(topic), context),
    canSubscribe: (context, filter) => evaluatePolicy(document, 'iot:Subscribe', arns.topicFilter(filter), context),
    canReceive: (context, topic) => evaluatePolicy(document, 'iot:Receive', arns.topic(topic), context),
  };
}
