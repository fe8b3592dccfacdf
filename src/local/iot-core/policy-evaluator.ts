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

/** The pattern as an anchored regular expression: built once per policy and connection, then only tested. */
function compileTokens(tokens: Token[], ignoreCase = false): RegExp {
  const source = tokens
    .map((t) => (t.kind === 'star' ? '[\\s\\S]*' : t.kind === 'one' ? '[\\s\\S]' : t.text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'iu' : 'u');
}

/** Compiles each pattern; a pattern naming a variable the connection cannot supply matches nothing, so it is left out. */
function compileAll(patterns: readonly string[], build: (pattern: string) => Token[] | undefined, ignoreCase = false): RegExp[] {
  return patterns.flatMap((pattern) => {
    const tokens = build(pattern);
    return tokens ? [compileTokens(tokens, ignoreCase)] : [];
  });
}

const asList = (value: string | readonly string[]): readonly string[] => (typeof value === 'string' ? [value] : value);
const anyMatch = (patterns: readonly RegExp[], value: string): boolean => patterns.some((pattern) => pattern.test(value));

const KNOWN_OPERATORS = new Set(['Bool', 'StringEquals', 'StringEqualsIgnoreCase', 'StringNotEquals', 'StringLike', 'StringNotLike']);

/** One condition entry as a predicate over this connection's values. */
function compileCondition(operator: string, key: string, expected: readonly string[], values: Record<string, string | undefined>): () => boolean {
  if (!KNOWN_OPERATORS.has(operator)) {
    // Failing closed, when the statement is reached: an operator this evaluator does not know must not silently allow.
    return () => {
      throw new ValidationError(`Unsupported policy condition operator ${operator}`, 'Condition');
    };
  }
  const actual = values[key];
  const negated = operator.startsWith('StringNot');
  if (actual === undefined) return () => negated;
  const literal = (pattern: string) => tokenize(pattern.replace(/[*?]/g, (c) => `\${${c}}`), values);
  const like = (pattern: string) => tokenize(pattern, values);
  let holds: boolean;
  switch (operator) {
    case 'Bool':
      holds = expected.some((e) => e.toLowerCase() === actual.toLowerCase());
      break;
    case 'StringEquals':
      holds = anyMatch(compileAll(expected, literal), actual);
      break;
    case 'StringEqualsIgnoreCase':
      holds = anyMatch(compileAll(expected, literal, true), actual);
      break;
    case 'StringNotEquals':
      holds = !anyMatch(compileAll(expected, literal), actual);
      break;
    case 'StringLike':
      holds = anyMatch(compileAll(expected, like), actual);
      break;
    default:
      holds = !anyMatch(compileAll(expected, like), actual);
  }
  return () => holds;
}

interface CompiledStatement {
  readonly effect: PolicyStatement['Effect'];
  /** What the statement decides when it matches: fixed by its Effect, one frozen object per statement. */
  readonly decision: PolicyDecision;
  readonly actions: readonly RegExp[];
  readonly resources: readonly RegExp[];
  readonly conditions: ReadonlyArray<() => boolean>;
}

/** Decides one action on one resource for the connection the policy was compiled for. */
export type PolicyEvaluator = (action: IotAction | string, resource: string) => PolicyDecision;

const IMPLICIT_DENY: PolicyDecision = Object.freeze({ allowed: false, reason: 'implicit-deny' });

/**
 * The document bound to one connection: variables substituted and every pattern compiled once,
 * so deciding a packet only tests prepared expressions. The broker decides every PUBLISH, and
 * building the expressions per packet was most of what it allocated under load.
 */
export function compilePolicy(document: PolicyDocument, context: ConnectionContext): PolicyEvaluator {
  const values = contextValues(context);
  const statements: CompiledStatement[] = document.Statement.map((statement) => ({
    effect: statement.Effect,
    decision: Object.freeze(
      statement.Effect === 'Deny'
        ? { allowed: false, reason: 'explicit-deny', statement: statement.Sid }
        : { allowed: true, reason: 'explicit-allow', statement: statement.Sid },
    ) as PolicyDecision,
    actions: compileAll(asList(statement.Action), (pattern) => tokenize(pattern, {}), true),
    resources: compileAll(asList(statement.Resource), (pattern) => tokenize(pattern, values)),
    conditions: Object.entries(statement.Condition ?? {}).flatMap(([operator, entries]) =>
      Object.entries(entries).map(([key, expected]) => compileCondition(operator, key, asList(expected), values)),
    ),
  }));
  return (action, resource) => {
    let allow: CompiledStatement | undefined;
    for (const statement of statements) {
      if (!anyMatch(statement.actions, action)) continue;
      if (!anyMatch(statement.resources, resource)) continue;
      if (!statement.conditions.every((holds) => holds())) continue;
      if (statement.effect === 'Deny') return statement.decision;
      allow ??= statement;
    }
    return allow?.decision ?? IMPLICIT_DENY;
  };
}

/** Decides whether `action` on `resource` (a full IoT ARN) is allowed for this connection. */
export function evaluatePolicy(
  document: PolicyDocument,
  action: IotAction | string,
  resource: string,
  context: ConnectionContext,
): PolicyDecision {
  return compilePolicy(document, context)(action, resource);
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
  // A connection keeps its context object for its lifetime: compile once, forget with it.
  const compiled = new WeakMap<ConnectionContext, PolicyEvaluator>();
  const evaluatorOf = (context: ConnectionContext): PolicyEvaluator => {
    let evaluate = compiled.get(context);
    if (!evaluate) {
      evaluate = compilePolicy(document, context);
      compiled.set(context, evaluate);
    }
    return evaluate;
  };
  return {
    canConnect: (context) => evaluatorOf(context)('iot:Connect', arns.client(context.clientId)),
    canPublish: (context, topic) => evaluatorOf(context)('iot:Publish', arns.topic(topic)),
    canRetainPublish: (context, topic) => evaluatorOf(context)('iot:RetainPublish', arns.topic(topic)),
    canSubscribe: (context, filter) => evaluatorOf(context)('iot:Subscribe', arns.topicFilter(filter)),
    canReceive: (context, topic) => evaluatorOf(context)('iot:Receive', arns.topic(topic)),
  };
}
