/**
 * The local stand-in for the IoT rules engine: it compiles the SQL of the SAME rule definitions
 * the CDK deploys (src/devices/rules.ts) and routes every broker publish through them. Topic
 * matching follows IoT: a Basic Ingest publish (`$aws/rules/<name>/<topic>`) reaches only the
 * named rule, which sees `<topic>`; any other publish reaches every rule whose FROM filter
 * matches. Only the SQL subset the rules use is supported (`*`, `encode(*, 'base64')`,
 * `topic(n)`, `clientid()`, `timestamp()`, `get_mqtt_property(name)`, literals, payload fields);
 * anything else fails at start, not silently at run time.
 */
import { TOPIC_RULES, type TopicRuleDefinition } from '../../contracts/rules.js';
import { parseBasicIngestTopic, topicMatches } from '../../contracts/topics.js';
import type { MqttProperties } from '../../ports/message-bus.js';
import { Slots } from '../../concurrency/slots.js';

/**
 * Lambda invocations (with their retries) running at once before a publish that routes to a
 * Lambda waits: a device's PUBACK, or an internal publisher's, waits instead of queuing without end.
 */
export const LOCAL_LAMBDA_MAX_IN_FLIGHT = 64;

/** Topics whose matching rules are remembered (a few per device); past it the memory starts over. */
const MAX_CACHED_ROUTES = 10_000;

/** A message as the rules engine receives it. */
export interface RuleInput {
  readonly topic: string;
  readonly payload: Buffer;
  readonly clientId?: string;
  /** Epoch ms. */
  readonly receivedAt: number;
  /** The publish's MQTT 5 properties (none from an MQTT 3.1.1 client). */
  readonly properties?: MqttProperties;
}

// As IoT's get_mqtt_property: correlation data is binary, so the rule sees it base64-encoded.
const MQTT_PROPERTIES: Record<string, (properties: MqttProperties) => unknown> = {
  content_type: (properties) => properties.contentType,
  response_topic: (properties) => properties.responseTopic,
  correlation_data: (properties) => properties.correlationData?.toString('base64'),
};

/** What a matched rule produced for one message. */
export interface RuleOutput {
  readonly rule: TopicRuleDefinition;
  /** The rule's SELECT result. */
  readonly value: Record<string, unknown>;
  /** For Kinesis targets: the evaluated partition key template. */
  readonly partitionKey?: string;
}

type Expr = (input: RuleInput, ruleTopic: string) => unknown;

/** The payload as JSON, or undefined when it is not JSON. */
function payloadJson(input: RuleInput): unknown {
  try {
    return JSON.parse(input.payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Compiles one SELECT expression of the supported subset. */
function compileExpression(source: string): Expr {
  const text = source.trim();
  let match: RegExpExecArray | null;
  if (text === '*') return (input) => payloadJson(input);
  if (/^encode\(\s*\*\s*,\s*'base64'\s*\)$/i.test(text)) return (input) => input.payload.toString('base64');
  if ((match = /^topic\(\s*(\d*)\s*\)$/i.exec(text))) {
    const level = match[1] ? Number(match[1]) : undefined;
    return (_input, ruleTopic) => (level === undefined ? ruleTopic : ruleTopic.split('/')[level - 1]);
  }
  if (/^clientid\(\s*\)$/i.test(text)) return (input) => input.clientId;
  if ((match = /^get_mqtt_property\(\s*'([a-z_]+)'\s*\)$/i.exec(text))) {
    const read = MQTT_PROPERTIES[match[1]!];
    if (!read) throw new Error(`Unsupported MQTT property in rule SQL: ${match[1]}`);
    return (input) => (input.properties ? read(input.properties) : undefined);
  }
  if (/^timestamp\(\s*\)$/i.test(text)) return (input) => input.receivedAt;
  if ((match = /^'((?:[^']|'')*)'$/.exec(text))) {
    const value = match[1]!.replaceAll("''", "'");
    return () => value;
  }
  if (/^-?\d+(\.\d+)?$/.test(text)) {
    const value = Number(text);
    return () => value;
  }
  if (/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(text)) {
    const path = text.split('.');
    return (input) => path.reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), payloadJson(input));
  }
  throw new Error(`Unsupported rule SQL expression: ${text}`);
}

/** Splits on commas outside parentheses and quotes. */
function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < list.length; i += 1) {
    const char = list[i];
    if (char === "'") quoted = !quoted;
    else if (!quoted && char === '(') depth += 1;
    else if (!quoted && char === ')') depth -= 1;
    else if (!quoted && depth === 0 && char === ',') {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(list.slice(start));
  return parts.map((p) => p.trim());
}

/** A rule ready to run. */
export interface CompiledRule {
  readonly definition: TopicRuleDefinition;
  /** The topic this rule sees for a published topic, or undefined when it does not receive it. */
  route(topic: string): string | undefined;
  /** The SELECT result, or undefined when `SELECT *` meets a payload that is not a JSON object. */
  select(input: RuleInput, ruleTopic: string): Record<string, unknown> | undefined;
  /** The target's partition key (Kinesis), from its `${...}` substitution template. */
  partitionKey(input: RuleInput, ruleTopic: string): string | undefined;
}

/** Compiles a rule definition's SQL; throws on anything outside the supported subset. */
export function compileRule(definition: TopicRuleDefinition): CompiledRule {
  const match = /^\s*SELECT\s+(.+?)\s+FROM\s+'([^']+)'\s*$/is.exec(definition.sql);
  if (!match) throw new Error(`Unsupported rule SQL (only SELECT ... FROM '<filter>'): ${definition.sql}`);
  const [, list, filter] = match as unknown as [string, string, string];
  if (filter !== definition.topicFilter) {
    throw new Error(`Rule ${definition.ruleName}: FROM '${filter}' differs from topicFilter '${definition.topicFilter}'`);
  }
  const items = splitTopLevel(list).map((item) => {
    const aliased = /^(.+?)\s+AS\s+([A-Za-z_][A-Za-z0-9_]*)$/is.exec(item);
    if (aliased) return { alias: aliased[2]!, expr: compileExpression(aliased[1]!) };
    if (item !== '*') throw new Error(`Rule ${definition.ruleName}: "${item}" needs an AS alias`);
    return { alias: undefined, expr: compileExpression(item) };
  });
  const template = definition.target.kind === 'kinesis' ? definition.target.partitionKey : undefined;
  const templateParts = template
    ? template.split(/(\$\{[^}]+\})/).filter(Boolean).map((part) => {
        const variable = /^\$\{(.+)\}$/.exec(part);
        return variable ? compileExpression(variable[1]!) : () => part;
      })
    : undefined;

  return {
    definition,
    route(topic) {
      const ingest = parseBasicIngestTopic(topic);
      if (ingest) return ingest.ruleName === definition.ruleName && topicMatches(filter, ingest.topic) ? ingest.topic : undefined;
      return topicMatches(filter, topic) ? topic : undefined;
    },
    select(input, ruleTopic) {
      const result: Record<string, unknown> = {};
      for (const { alias, expr } of items) {
        const value = expr(input, ruleTopic);
        if (alias === undefined) {
          if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
          Object.assign(result, value);
        } else if (value !== undefined) {
          result[alias] = value;
        }
      }
      return result;
    },
    partitionKey(input, ruleTopic) {
      return templateParts?.map((part) => String(part(input, ruleTopic) ?? '')).join('');
    },
  };
}

/** Where rule outputs go: the local Kinesis stream and Lambda handlers, and the error action. */
export interface RuleTargets {
  /** Kinesis PutRecord. */
  kinesis(rule: TopicRuleDefinition, partitionKey: string, data: string): Promise<void> | void;
  /** Asynchronous Lambda invocation with the rule output as the event. */
  lambda(rule: TopicRuleDefinition, handler: string, event: Record<string, unknown>): Promise<void>;
  /** The rule's error action (an SQS queue in the cloud). */
  error(rule: TopicRuleDefinition, input: RuleInput, reason: string): Promise<void>;
}

/** A running rules engine. */
export interface RulesRunner {
  /**
   * Runs the rules for one client publish; resolves once its Kinesis records are durable, its
   * rule errors are recorded and its Lambda invocations have a slot: what the broker's PUBACK
   * waits for (with `gatesClientPublishes`).
   */
  accept(input: RuleInput): Promise<void>;
  /** Lambda invocations running (retries included) and publishes waiting for a slot. */
  lambdaLoad(): { readonly inFlight: number; readonly waiting: number };
  /** Resolves when every Lambda invocation started so far has finished. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@link startRulesRunner}. */
export interface RulesRunnerOptions {
  /** The broker's stream of accepted publishes; a listener's promise holds back the publisher (backpressure). */
  readonly source: { onPublish(listener: (input: RuleInput) => Promise<void> | void): () => void };
  readonly targets: RuleTargets;
  /** @default TOPIC_RULES */
  readonly rules?: readonly TopicRuleDefinition[];
  /** Lambda's asynchronous invocation retries. @default 2 */
  readonly lambdaRetries?: number;
  /** Lambda invocations in flight before publishes routed to a Lambda wait. @default LOCAL_LAMBDA_MAX_IN_FLIGHT */
  readonly maxLambdaInFlight?: number;
  /** Client publishes arrive through `accept` (the broker's acknowledgement gate), not the source. @default false */
  readonly gatesClientPublishes?: boolean;
  readonly log?: (line: string) => void;
}

/** Routes every publish through the compiled rules to their targets. */
export function startRulesRunner(options: RulesRunnerOptions): RulesRunner {
  const log = options.log ?? (() => undefined);
  const rules = (options.rules ?? TOPIC_RULES).map(compileRule);
  const retries = options.lambdaRetries ?? 2;
  const inFlight = new Set<Promise<void>>();
  const lambdaSlots = new Slots(options.maxLambdaInFlight ?? LOCAL_LAMBDA_MAX_IN_FLIGHT);

  const invoke = async (rule: TopicRuleDefinition, handler: string, event: Record<string, unknown>, input: RuleInput) => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await options.targets.lambda(rule, handler, event);
        return;
      } catch (error) {
        if (attempt >= retries) {
          log(`rules: ${rule.ruleName} → ${handler} failed after ${retries} retries: ${(error as Error).message}`);
          await options.targets.error(rule, input, `LAMBDA_FAILED: ${(error as Error).message}`).catch((letterError: unknown) => {
            log(`rules: ${rule.ruleName} → ${handler}: the failed event could not be dead-lettered either: ${(letterError as Error).message}`);
          });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  };

  const track = (pending: Promise<void>): Promise<void> => {
    inFlight.add(pending);
    void pending.catch(() => undefined).finally(() => inFlight.delete(pending));
    return pending;
  };

  // A device publishes to the same few topics over and over: match each topic against the
  // rules once, not per message (matching splits the topic per rule).
  const routes = new Map<string, ReadonlyArray<readonly [CompiledRule, string]>>();
  const routesOf = (topic: string) => {
    let found = routes.get(topic);
    if (!found) {
      found = rules.flatMap((rule) => {
        const ruleTopic = rule.route(topic);
        return ruleTopic === undefined ? [] : [[rule, ruleTopic] as const];
      });
      if (routes.size >= MAX_CACHED_ROUTES) routes.clear();
      routes.set(topic, found);
    }
    return found;
  };

  const accept = async (input: RuleInput): Promise<void> => {
    const recorded: Array<Promise<void> | void> = [];
    for (const [rule, ruleTopic] of routesOf(input.topic)) {
      const { definition } = rule;
      const value = rule.select(input, ruleTopic);
      if (!value) {
        recorded.push(track(options.targets.error(definition, input, 'SQL_EVALUATION_FAILED: payload is not a JSON object')));
        continue;
      }
      if (definition.target.kind === 'kinesis') {
        const failed = (error: unknown) => track(options.targets.error(definition, input, `KINESIS_PUT_FAILED: ${(error as Error).message}`));
        try {
          recorded.push(Promise.resolve(options.targets.kinesis(definition, rule.partitionKey(input, ruleTopic) ?? '', JSON.stringify(value))).catch(failed));
        } catch (error) {
          recorded.push(failed(error));
        }
      } else {
        // An asynchronous invocation: accepted once it has a slot (the publisher waits while all
        // are taken), then it runs on its own, as IoT's Lambda action is accepted once queued.
        const handler = definition.target.handler;
        recorded.push(
          lambdaSlots.acquire().then((release) => {
            void track(invoke(definition, handler, value, input).finally(release));
          }),
        );
      }
    }
    await Promise.all(recorded);
  };

  const onPublish = (input: RuleInput): Promise<void> | undefined => {
    if (options.gatesClientPublishes && input.clientId !== undefined) return undefined;
    return track(accept(input));
  };
  const unsubscribe = options.source.onPublish(onPublish);

  const flush = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  return {
    accept,
    lambdaLoad: () => ({ inFlight: lambdaSlots.inUse, waiting: lambdaSlots.waiting }),
    flush,
    async stop() {
      unsubscribe();
      await flush();
    },
  };
}
