/** Where the iotctl commands write their lines, and the one error mapper of the CLI door. */

/** Receives one output line; tests pass their own to capture what a command prints. */
export type LineWriter = (line: string) => void;

/** Writes each line to stdout. */
export const stdoutLines: LineWriter = (line) => {
  process.stdout.write(`${line}\n`);
};

/** Writes each line to stderr. */
export const stderrLines: LineWriter = (line) => {
  process.stderr.write(`${line}\n`);
};

/**
 * A command action whose thrown error (typed, argument or otherwise) becomes one line
 * `iotctl <command>: <message>` on `writeError` and exit code 1, instead of a stack trace.
 */
export function reportingErrors<A extends unknown[]>(
  command: string,
  writeError: LineWriter,
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      writeError(`iotctl ${command}: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  };
}
