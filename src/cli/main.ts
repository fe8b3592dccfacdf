/**
 * `iotctl`: the platform's one command-line tool. Each subcommand lives in its own module under
 * commands/ and exports `register(program)`; add one line below to add a command.
 */
import { Command } from 'commander';
import * as local from './commands/local.js';

/** The iotctl program with every subcommand registered. */
export function createProgram(): Command {
  const program = new Command('iotctl')
    .description('IoT device platform: run it locally, manage devices, simulate fleets')
    .showHelpAfterError();
  local.register(program);
  return program;
}

await createProgram().parseAsync(process.argv);
