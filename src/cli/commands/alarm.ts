/**
 * `iotctl alarm rule create|list|delete` and `iotctl alarm list|ack|snooze|disable|enable`:
 * alarm rules and alarms through the GraphQL API, so a change takes effect at once in the
 * platform that serves it (its rule cache is told) and the same commands work against AppSync
 * with `--url` and `--token`. Without `--token` an admin token is minted from the local
 * platform's data directory, as `iotctl token` does.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ALARM_SEVERITIES, OPERATOR_SYMBOLS, type ComparisonOperator } from '../../alarms/alarm-rule.js';
import { ALARM_STATES } from '../../alarms/alarm-state.js';
import { DEFAULT_PORTS } from '../../local/platform.js';
import { reportingErrors, stderrLines, stdoutLines, type LineWriter } from '../output.js';
import { issueLocalToken } from './token.js';

/** The local platform's GraphQL endpoint. */
export const DEFAULT_GRAPHQL_URL = `http://127.0.0.1:${DEFAULT_PORTS.graphql}/graphql`;

const RULE_FIELDS = 'id name description severity version latch ackRequired notify target { kind deviceId deviceType } condition { kind metric operator threshold clearThreshold forSeconds consecutive seconds } command { name payload timeoutSeconds onStates }';
const ALARM_FIELDS = 'id ruleName deviceId severity state rev changedAt snoozeUntil lastTransition { reason actor note }';

/** Where and as whom the commands call the API. */
interface ApiOptions {
  readonly url: string;
  readonly token?: string;
  readonly dataDir: string;
  readonly json?: boolean;
}

/** A GraphQL call; an error in the answer becomes one thrown Error naming its type. */
export async function callApi<T>(options: ApiOptions, query: string, variables: Record<string, unknown>): Promise<T> {
  const token = options.token ?? (await issueLocalToken({ user: 'iotctl', group: 'admin', expires: '5m', dataDir: options.dataDir }));
  let response: Response;
  try {
    response = await fetch(options.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: token }, body: JSON.stringify({ query, variables }) });
  } catch (error) {
    throw new Error(`cannot reach ${options.url} (is \`npm start\` running?): ${(error as Error).message}`);
  }
  const body = (await response.json().catch(() => ({}))) as { data?: T; errors?: Array<{ errorType?: string; message: string }> };
  if (body.errors?.length) throw new Error(body.errors.map((e) => `${e.errorType ?? 'Error'}: ${e.message}`).join('; '));
  if (!response.ok || !body.data) throw new Error(`${options.url} answered HTTP ${response.status}`);
  return body.data;
}

const OPERATORS = Object.fromEntries(Object.entries(OPERATOR_SYMBOLS).map(([name, symbol]) => [symbol, name])) as Record<string, ComparisonOperator>;

function parseOperator(value: string): ComparisonOperator {
  const name = OPERATORS[value] ?? (value.toUpperCase() in OPERATOR_SYMBOLS ? (value.toUpperCase() as ComparisonOperator) : undefined);
  if (!name) throw new InvalidArgumentError(`use one of ${Object.values(OPERATOR_SYMBOLS).join(' ')} (quote them in a shell)`);
  return name;
}

function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

/** The createAlarmRule input from the command's flags; the API validates the rest. */
export function ruleInputFromFlags(flags: Record<string, unknown>): Record<string, unknown> {
  const targets = [flags.device !== undefined, flags.type !== undefined, flags.all === true].filter(Boolean).length;
  if (targets !== 1) throw new InvalidArgumentError('give exactly one target: --device <id>, --type <type> or --all');
  const target = flags.device !== undefined ? { kind: 'DEVICE', deviceId: flags.device } : flags.type !== undefined ? { kind: 'DEVICE_TYPE', deviceType: flags.type } : { kind: 'ALL' };
  let condition: Record<string, unknown>;
  if (flags.silentFor !== undefined) {
    if (flags.op !== undefined || flags.threshold !== undefined) throw new InvalidArgumentError('--silent-for is a no-data rule: leave out --op and --threshold');
    // With --metric: silence of that metric while the device may keep sending others.
    condition = { kind: 'NO_DATA', seconds: flags.silentFor, ...(flags.metric !== undefined && { metric: flags.metric }) };
  } else {
    if (flags.metric === undefined || flags.op === undefined || flags.threshold === undefined) {
      throw new InvalidArgumentError('a threshold rule needs --metric, --op and --threshold (or use --silent-for <seconds>)');
    }
    condition = {
      kind: 'THRESHOLD',
      metric: flags.metric,
      operator: flags.op,
      threshold: flags.threshold,
      ...(flags.clear !== undefined && { clearThreshold: flags.clear }),
      ...(flags.for !== undefined && { forSeconds: flags.for }),
      ...(flags.consecutive !== undefined && { consecutive: flags.consecutive }),
    };
  }
  return {
    name: flags.name,
    ...(flags.description !== undefined && { description: flags.description }),
    severity: flags.severity,
    target,
    condition,
    latch: flags.latch === true,
    ackRequired: flags.ack !== false,
    notify: flags.notify !== false,
    ...commandFromFlags(flags),
  };
}

/** The rule's command action from --command and its companions; the API validates name, payload and timeout. */
function commandFromFlags(flags: Record<string, unknown>): { command?: Record<string, unknown> } {
  const companions = ['commandPayload', 'commandTimeout', 'commandOn'].filter((f) => flags[f] !== undefined);
  if (flags.command === undefined) {
    if (companions.length > 0) throw new InvalidArgumentError('--command-payload, --command-timeout and --command-on need --command <name>');
    return {};
  }
  return {
    command: {
      name: flags.command,
      ...(flags.commandPayload !== undefined && { payload: flags.commandPayload }),
      ...(flags.commandTimeout !== undefined && { timeoutSeconds: flags.commandTimeout }),
      ...(flags.commandOn !== undefined && { onStates: String(flags.commandOn).split(',').map((s) => s.trim().toUpperCase()) }),
    },
  };
}

interface RuleRow {
  id: string;
  name: string;
  severity: string;
  version: number;
  latch: boolean;
  target: { kind: string; deviceId: string | null; deviceType: string | null };
  condition: { kind: string; metric: string | null; operator: ComparisonOperator | null; threshold: number | null; clearThreshold: number | null; forSeconds: number | null; consecutive: number | null; seconds: number | null };
  command: { name: string; payload: string; timeoutSeconds: number; onStates: string[] } | null;
}

function describeRule(rule: RuleRow): string {
  const c = rule.condition;
  const target = rule.target.kind === 'ALL' ? 'all devices' : rule.target.kind === 'DEVICE' ? `device ${rule.target.deviceId}` : `type ${rule.target.deviceType}`;
  const condition =
    c.kind === 'NO_DATA'
      ? `no ${c.metric ?? 'data'} for ${c.seconds} s`
      : `${c.metric} ${OPERATOR_SYMBOLS[c.operator!]} ${c.threshold}${c.clearThreshold !== null ? ` (clears past ${c.clearThreshold})` : ''}${c.forSeconds !== null ? ` for ${c.forSeconds} s` : ''}${c.consecutive !== null ? ` for ${c.consecutive} readings` : ''}`;
  const command = rule.command ? `, sends ${rule.command.name} ${rule.command.payload} on ${rule.command.onStates.join('/')}` : '';
  return `${rule.id}  ${rule.severity.padEnd(8)}  v${rule.version}  ${rule.name}: ${condition} on ${target}${rule.latch ? ', latched' : ''}${command}`;
}

interface AlarmRow {
  id: string;
  ruleName: string;
  deviceId: string;
  severity: string;
  state: string;
  rev: number;
  changedAt: string;
  snoozeUntil: string | null;
  lastTransition: { reason: string; actor: string; note?: string | null };
}

const describeAlarm = (a: AlarmRow): string =>
  `${a.id}  ${a.state.padEnd(15)}  ${a.severity.padEnd(8)}  ${a.changedAt}  ${a.ruleName} on ${a.deviceId}: ${a.lastTransition.reason} (${a.lastTransition.actor}${a.lastTransition.note ? `: "${a.lastTransition.note}"` : ''})${a.snoozeUntil ? `, snoozed until ${a.snoozeUntil}` : ''}`;

/** Adds `alarm` to `program`. */
export function register(program: Command, write: LineWriter = stdoutLines, writeError: LineWriter = stderrLines): void {
  const api = (command: Command) =>
    command
      .option('--url <url>', 'GraphQL endpoint (AppSync or the local server)', DEFAULT_GRAPHQL_URL)
      .option('--token <token>', 'Authorization token; minted as a local admin from --data-dir when absent')
      .option('--data-dir <dir>', 'data directory of `iotctl local`', '.local')
      .option('--json', 'print JSON');
  const alarm = program.command('alarm').description('alarm rules on telemetry and their alarms (see docs/alarms.md)');
  const rule = alarm.command('rule').description('create, list or delete alarm rules');

  api(
    rule
      .command('create')
      .description('create an alarm rule, e.g. --name hot --severity HIGH --type thermostat --metric temperature --op ">" --threshold 30 --clear 28 --for 300')
      .requiredOption('--name <name>', 'rule name')
      .addOption(new Option('--severity <severity>', 'how urgent').choices(ALARM_SEVERITIES).makeOptionMandatory())
      .option('--description <text>', 'what the rule is for')
      .option('--device <id>', 'target: one device')
      .option('--type <type>', 'target: every device of a type')
      .option('--all', 'target: every device')
      .option('--metric <name>', 'threshold rule: the metric')
      .option('--op <operator>', 'threshold rule: > >= < <= == !=', parseOperator)
      .option('--threshold <value>', 'threshold rule: the value compared with', parseNumber)
      .option('--clear <value>', 'clear threshold (hysteresis)', parseNumber)
      .option('--for <seconds>', 'the condition must hold this long (event time)', parseInteger)
      .option('--consecutive <n>', 'the condition must hold for n readings in a row', parseInteger)
      .option('--silent-for <seconds>', 'no-data rule: fires after this many seconds without telemetry (with --metric: without that metric)', parseInteger)
      .option('--command <name>', 'send this command to the device when the alarm enters --command-on (default ACTIVE)')
      .option('--command-payload <json>', 'the command payload, JSON (default {})')
      .option('--command-timeout <seconds>', 'seconds the device has to finish the command (default 60)', parseInteger)
      .option('--command-on <states>', 'comma-separated alarm states whose entry sends the command, e.g. ACTIVE,NORMAL')
      .option('--latch', 'stay LATCHED after clearing until acknowledged')
      .option('--no-ack', 'alarms clear by themselves and take no acknowledgement')
      .option('--no-notify', 'do not publish transitions to EventBridge / SNS'),
  ).action(
    reportingErrors('alarm rule create', writeError, async (flags: Record<string, unknown> & ApiOptions) => {
      const input = ruleInputFromFlags(flags);
      const data = await callApi<{ createAlarmRule: RuleRow }>(flags, `mutation C($input: AlarmRuleInput!) { createAlarmRule(input: $input) { ${RULE_FIELDS} } }`, { input });
      write(flags.json ? JSON.stringify(data.createAlarmRule) : describeRule(data.createAlarmRule));
    }),
  );

  api(rule.command('list').description('list every alarm rule')).action(
    reportingErrors('alarm rule list', writeError, async (flags: ApiOptions) => {
      const data = await callApi<{ alarmRules: RuleRow[] }>(flags, `{ alarmRules { ${RULE_FIELDS} } }`, {});
      if (flags.json) write(JSON.stringify(data.alarmRules));
      else for (const r of data.alarmRules) write(describeRule(r));
    }),
  );

  api(rule.command('delete').description('delete a rule and its alarms (their history stays)').argument('<id>', 'rule id')).action(
    reportingErrors('alarm rule delete', writeError, async (id: string, flags: ApiOptions) => {
      const data = await callApi<{ deleteAlarmRule: RuleRow }>(flags, `mutation D($id: ID!) { deleteAlarmRule(id: $id) { ${RULE_FIELDS} } }`, { id });
      write(flags.json ? JSON.stringify(data.deleteAlarmRule) : `deleted ${describeRule(data.deleteAlarmRule)}`);
    }),
  );

  api(
    alarm
      .command('list')
      .description('list alarms, most recently changed first')
      .addOption(new Option('--state <state>').choices(ALARM_STATES))
      .addOption(new Option('--severity <severity>').choices(ALARM_SEVERITIES))
      .option('--device <id>', 'only this device')
      .option('--rule <id>', 'only this rule')
      .option('--limit <n>', 'at most this many (1-100)', parseInteger, 25),
  ).action(
    reportingErrors('alarm list', writeError, async (flags: ApiOptions & { state?: string; severity?: string; device?: string; rule?: string; limit: number }) => {
      const filter = { state: flags.state, severity: flags.severity, deviceId: flags.device, ruleId: flags.rule };
      const data = await callApi<{ alarms: { items: AlarmRow[]; nextToken: string | null } }>(
        flags,
        `query L($filter: AlarmFilter, $limit: Int) { alarms(filter: $filter, limit: $limit) { items { ${ALARM_FIELDS} } nextToken } }`,
        { filter, limit: flags.limit },
      );
      if (flags.json) write(JSON.stringify(data.alarms.items));
      else for (const a of data.alarms.items) write(describeAlarm(a));
    }),
  );

  const action = (name: string, mutation: string, description: string, extra?: (c: Command) => Command) => {
    let command = alarm.command(name).description(description).argument('<id>', 'alarm id (<ruleId>.<deviceId>)');
    if (extra) command = extra(command);
    api(command).action(
      reportingErrors(`alarm ${name}`, writeError, async (id: string, ...rest: unknown[]) => {
        const flags = rest.find((r): r is ApiOptions & Record<string, unknown> => typeof r === 'object' && r !== null && 'url' in r)!;
        const seconds = rest.find((r): r is string => typeof r === 'string');
        const variables: Record<string, unknown> = { id, ...(seconds !== undefined && { seconds: parseInteger(seconds) }), ...(flags.note !== undefined && { note: flags.note }) };
        const data = await callApi<Record<string, AlarmRow>>(flags, mutation, variables);
        const result = Object.values(data)[0]!;
        write(flags.json ? JSON.stringify(result) : describeAlarm(result));
      }),
    );
  };
  action('ack', `mutation A($id: ID!, $note: String) { acknowledgeAlarm(id: $id, note: $note) { ${ALARM_FIELDS} } }`, 'acknowledge: ACTIVE -> ACKNOWLEDGED, LATCHED -> NORMAL', (c) =>
    c.option('--note <text>', 'why, for the history'),
  );
  action('snooze', `mutation S($id: ID!, $seconds: Int!, $note: String) { snoozeAlarm(id: $id, seconds: $seconds, note: $note) { ${ALARM_FIELDS} } }`, 'snooze for SECONDS (then NORMAL)', (c) =>
    c.argument('<seconds>', 'how long, 1-604800').option('--note <text>', 'why, for the history'),
  );
  action('disable', `mutation D($id: ID!) { disableAlarm(id: $id) { ${ALARM_FIELDS} } }`, 'disable until enabled');
  action('enable', `mutation E($id: ID!) { enableAlarm(id: $id) { ${ALARM_FIELDS} } }`, 'enable a disabled alarm (-> NORMAL)');
}
