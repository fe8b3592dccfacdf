/** Structured JSON logging for the gRPC server: one line per call, one per lifecycle event. */

/** Receives one log entry; the default writes a JSON line to stdout. */
export type LogSink = (entry: Readonly<Record<string, unknown>>) => void;

/** A sink writing one JSON object per line to `write` (stdout by default). */
export function jsonLogSink(write: (line: string) => void = (line) => process.stdout.write(line)): LogSink {
  return (entry) => write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
}

/** A sink that drops everything (tests that assert nothing about logs). */
export const silentLogSink: LogSink = () => {};
