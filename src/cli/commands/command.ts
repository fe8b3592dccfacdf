/**
 * `iotctl command send|list` and `iotctl twin get|set`: commands and desired state through the
 * GraphQL door (locally the `iotctl local` server; in AWS, AppSync with --url and --token).
 */
import { Command, InvalidArgumentError } from 'commander';
import { isTerminal, type CommandStatus } from '../../commands/command.js';
import { DEFAULT_GRAPHQL_URL, graphqlClient, type GraphqlTarget } from '../graphql-client.js';
import { reportingErrors, stderrLines, stdoutLines, type LineWriter } from '../output.js';

const SEND = `mutation Send($input: SendCommandInput!) { sendCommand(input: $input) { id status } }`;
const GET = `query Get($id: ID!) { command(id: $id) { id name status statusReason result createdAt sentAt completedAt } }`;
const LIST = `query List($deviceId: ID!, $status: CommandStatus, $limit: Int, $nextToken: String) {
  commands(deviceId: $deviceId, status: $status, limit: $limit, nextToken: $nextToken) { items { id name status statusReason createdAt completedAt } nextToken } }`;
const TWIN = `query Twin($id: ID!) { device(id: $id) { twin { desired reported delta version metadata updatedAt } } }`;
const SET = `mutation Set($deviceId: ID!, $patch: AWSJSON!, $expectedVersion: Int) {
  updateDesiredState(deviceId: $deviceId, patch: $patch, expectedVersion: $expectedVersion) { desired reported delta version updatedAt } }`;

interface TargetOptions {
  readonly url: string;
  readonly token?: string;
  readonly dataDir: string;
  readonly user: string;
}

interface CommandRow {
  id: string;
  name: string;
  status: CommandStatus;
  statusReason: string | null;
  result?: string | null;
  createdAt: string;
  completedAt: string | null;
}

/** How often `--wait` reads the command. */
const WAIT_POLL_MS = 500;

function json(value: string): string {
  try {
    JSON.parse(value);
    return value;
  } catch {
    throw new InvalidArgumentError('not valid JSON');
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('use a positive integer');
  return n;
}

function withTarget(command: Command): Command {
  return command
    .option('--url <url>', 'GraphQL endpoint (env IOT_GRAPHQL_URL)', DEFAULT_GRAPHQL_URL)
    .option('--token <token>', 'an API token (Cognito in AWS); minted from --data-dir when absent')
    .option('--data-dir <dir>', 'data directory of `iotctl local`, whose key signs the token', '.local')
    .option('--user <name>', 'user name recorded as the sender (minted tokens only)', process.env.USER ?? 'iotctl');
}

function target(options: TargetOptions): GraphqlTarget {
  return { url: options.url, ...(options.token && { token: options.token }), dataDir: options.dataDir, user: options.user };
}

/** Adds `command` and `twin` to `program`. */
export function register(program: Command, write: LineWriter = stdoutLines, writeError: LineWriter = stderrLines): void {
  const command = program.command('command').description('send commands to devices and list them (through the GraphQL API)');
  withTarget(
    command
      .command('send <device> <name>')
      .description('send a command; with --wait, print the final status once the device answered (or it timed out)')
      .option('--payload <json>', 'the command payload (JSON, at most 32 KB)', json, '{}')
      .option('--client-token <token>', 'idempotency token: the same token and parameters return the same command')
      .option('--timeout <seconds>', 'seconds the device has once the command reached it', positiveInt)
      .option('--wait', 'wait for the final status and print it'),
  ).action(
    reportingErrors('command send', writeError, async (device: string, name: string, options: TargetOptions & { payload: string; clientToken?: string; timeout?: number; wait?: boolean }) => {
      const gql = await graphqlClient(target(options));
      const input = { deviceId: device, name, payload: options.payload, ...(options.clientToken && { clientToken: options.clientToken }), ...(options.timeout && { timeoutSeconds: options.timeout }) };
      const { sendCommand } = await gql<{ sendCommand: { id: string; status: CommandStatus } }>(SEND, { input });
      if (!options.wait) {
        write(`${sendCommand.id} ${sendCommand.status}`);
        return;
      }
      for (;;) {
        const { command: current } = await gql<{ command: CommandRow }>(GET, { id: sendCommand.id });
        if (isTerminal(current.status)) {
          write(`${current.id} ${current.status}${current.statusReason ? ` ${current.statusReason}` : ''}${current.result ? ` ${current.result}` : ''}`);
          if (current.status !== 'SUCCEEDED') process.exitCode = 2;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
      }
    }),
  );
  withTarget(
    command
      .command('list <device>')
      .description("list a device's commands, newest first")
      .option('--status <status>', 'only commands with this status')
      .option('--limit <n>', 'at most this many', positiveInt, 25),
  ).action(
    reportingErrors('command list', writeError, async (device: string, options: TargetOptions & { status?: string; limit: number }) => {
      const gql = await graphqlClient(target(options));
      const { commands } = await gql<{ commands: { items: CommandRow[] } }>(LIST, { deviceId: device, limit: options.limit, ...(options.status && { status: options.status }) });
      for (const c of commands.items) write(`${c.id}  ${c.status.padEnd(11)}  ${c.name.padEnd(20)}  ${c.createdAt}${c.statusReason ? `  ${c.statusReason}` : ''}`);
    }),
  );

  const twin = program.command('twin').description("read and change a device's desired state (through the GraphQL API)");
  withTarget(twin.command('get <device>').description('print the twin: desired, reported, delta, version, metadata (JSON)')).action(
    reportingErrors('twin get', writeError, async (device: string, options: TargetOptions) => {
      const gql = await graphqlClient(target(options));
      const { device: found } = await gql<{ device: { twin: Record<string, unknown> } | null }>(TWIN, { id: device });
      if (!found) throw new Error(`device ${device} does not exist`);
      write(JSON.stringify(parseJsonFields(found.twin), null, 2));
    }),
  );
  withTarget(
    twin
      .command('set <device>')
      .description('apply a JSON merge patch to desired state (null removes a key); prints the new twin')
      .requiredOption('--patch <json>', 'the merge patch', json)
      .option('--expected-version <n>', 'fail with a Conflict unless the twin still has this version', positiveInt),
  ).action(
    reportingErrors('twin set', writeError, async (device: string, options: TargetOptions & { patch: string; expectedVersion?: number }) => {
      const gql = await graphqlClient(target(options));
      const { updateDesiredState } = await gql<{ updateDesiredState: Record<string, unknown> }>(SET, {
        deviceId: device,
        patch: options.patch,
        ...(options.expectedVersion && { expectedVersion: options.expectedVersion }),
      });
      write(JSON.stringify(parseJsonFields(updateDesiredState), null, 2));
    }),
  );
}

/** AWSJSON fields arrive as JSON text: print them as JSON values. */
function parseJsonFields(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' && /^[[{]/.test(v) ? JSON.parse(v) : v]));
}
