/**
 * `iotctl`: the platform's one command-line tool. Each subcommand lives in its own module under
 * commands/ and exports `register(program)`; add one line below to add a command.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import * as command from './commands/command.js';
import * as alarm from './commands/alarm.js';
import * as device from './commands/device.js';
import * as dlq from './commands/dlq.js';
import * as ingest from './commands/ingest.js';
import * as local from './commands/local.js';
import * as simulate from './commands/simulate.js';
import * as stats from './commands/stats.js';
import * as token from './commands/token.js';

// The SDK's notice that its 2027 releases need Node 22 says nothing to someone running the CLI
// (the SDK is pinned in package.json); it would precede every command's output. Set the variable
// to anything else to see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The iotctl program with every subcommand registered. */
export function createProgram(): Command {
  const program = new Command('iotctl')
    .description('IoT device platform: run it locally, manage devices, send commands, simulate fleets')
    .version(packageVersion())
    .showHelpAfterError();
  local.register(program);
  device.register(program);
  command.register(program);
  alarm.register(program);
  dlq.register(program);
  ingest.register(program);
  simulate.register(program);
  stats.register(program);
  token.register(program);
  return program;
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

await createProgram().parseAsync(process.argv);
