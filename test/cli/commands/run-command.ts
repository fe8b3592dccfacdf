/** Runs one iotctl command in-process, as the CLI would, and collects what it writes. */
import { Command } from 'commander';
import type { LineWriter } from '../../../src/cli/output.js';

/** What a command wrote (stdout lines, stderr lines) and the exit code it set. */
export interface CommandRun {
  readonly lines: string[];
  readonly errors: string[];
  readonly exitCode: number;
}

/** Registers a command group with `register` and runs `iotctl <group> ...args`; commander's own parse errors throw. */
export async function runCommand(register: (program: Command, write: LineWriter, writeError: LineWriter) => void, group: string, args: string[]): Promise<CommandRun> {
  const lines: string[] = [];
  const errors: string[] = [];
  const program = new Command('iotctl').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program, (line) => lines.push(line), (line) => errors.push(line));
  process.exitCode = 0;
  await program.parseAsync(['node', 'iotctl', group, ...args]);
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { lines, errors, exitCode };
}
