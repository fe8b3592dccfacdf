/** Reads what a Lambda module's Powertools Metrics flushed: CloudWatch EMF documents on stdout. */
import { vi } from 'vitest';

/** The metric values (name → value) of each EMF document written to stdout while `act` runs; `act` may reject. */
export async function emittedMetrics(act: () => Promise<unknown>): Promise<Array<Record<string, number>>> {
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(chunk.toString());
    return true;
  });
  try {
    await act().catch(() => undefined);
  } finally {
    spy.mockRestore();
  }
  return written
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => {
      const document = JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> } };
      const names = document._aws.CloudWatchMetrics.flatMap((m) => m.Metrics.map((metric) => metric.Name));
      return Object.fromEntries(names.map((name) => [name, document[name] as number]));
    });
}
