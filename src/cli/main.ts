/**
 * `iotctl`: the platform's one command-line tool. Each subcommand lives in its own module under
 * commands/ and exports `register(program)`; add one line below to add a command.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import * as local from './commands/local.js';
import * as token from './commands/token.js';

/** The iotctl program with every subcommand registered. */
export function createProgram(): Command {
  const program = new Command('iotctl')
    .description('IoT device platform: run it locally, manage devices, simulate fleets')
    .version(packageVersion())
    .showHelpAfterError();
  local.register(program);
  token.register(program);
  return program;
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

await createProgram().parseAsync(process.argv);
