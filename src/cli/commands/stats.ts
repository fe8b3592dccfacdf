/**
 * `iotctl stats rebuild`: recounts the fleet counters from the Devices table (through its
 * byStatus index, never a Scan) and switches the Stats table over atomically for readers.
 * Locally it talks to `iotctl local` through its DynamoDB endpoint; `--target aws` uses the
 * stack outputs DevicesTableName and StatsTableName with the caller's AWS credentials.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { createDocumentClient } from '../../adapters/dynamodb/client.js';
import { rebuildStats } from '../../adapters/dynamodb/stats-rebuild.js';
import type { DeviceStats } from '../../domain/device.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames } from '../../local/dynamodb/dynalite.js';
import { LOCAL_TABLE_PREFIX } from '../../local/platform.js';
import { reportingErrors, stderrLines, stdoutLines, type LineWriter } from '../output.js';
import { DEFAULT_LOCAL_ENDPOINT } from './device.js';

interface RebuildOptions {
  readonly target: 'local' | 'aws';
  readonly endpoint: string;
  readonly devicesTable?: string;
  readonly statsTable?: string;
}

/** One line of counts: `total 12, ONLINE 3, OFFLINE 9, sensor 12`. */
export function formatStats(stats: DeviceStats): string {
  const parts = [`total ${stats.total}`];
  for (const [status, n] of Object.entries(stats.byStatus)) if (n !== 0) parts.push(`${status} ${n}`);
  for (const [type, n] of Object.entries(stats.byType)) parts.push(`type ${type} ${n}`);
  return parts.join(', ');
}

/** Adds `iotctl stats`. */
export function register(program: Command, write: LineWriter = stdoutLines, writeError: LineWriter = stderrLines): void {
  const stats = program.command('stats').description('fleet counters');
  stats
    .command('rebuild')
    .description('recount the fleet counters from the Devices table (no Scan) and switch the Stats table over atomically')
    .addOption(new Option('--target <target>', 'which platform').choices(['local', 'aws']).default('local'))
    .option('--endpoint <url>', 'local: DynamoDB endpoint of `iotctl local` (env IOT_DYNAMODB_ENDPOINT)', process.env.IOT_DYNAMODB_ENDPOINT ?? DEFAULT_LOCAL_ENDPOINT)
    .option('--devices-table <name>', 'aws: the DevicesTableName stack output (env DEVICES_TABLE_NAME)', process.env.DEVICES_TABLE_NAME)
    .option('--stats-table <name>', 'aws: the StatsTableName stack output (env STATS_TABLE_NAME)', process.env.STATS_TABLE_NAME)
    .action(
      reportingErrors('stats rebuild', writeError, async (options: RebuildOptions) => {
        let tables: { devices: string; stats: string };
        let doc: ReturnType<typeof createDocumentClient>;
        if (options.target === 'local') {
          const names = localTableNames(LOCAL_TABLE_PREFIX);
          tables = { devices: names.Devices!, stats: names.Stats! };
          doc = createDocumentClient({ endpoint: options.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 3 });
        } else {
          if (!options.devicesTable || !options.statsTable) {
            throw new InvalidArgumentError('--target aws needs --devices-table and --stats-table (the DevicesTableName and StatsTableName stack outputs)');
          }
          tables = { devices: options.devicesTable, stats: options.statsTable };
          doc = createDocumentClient({});
        }
        try {
          const result = await rebuildStats(doc, tables);
          write(`before: ${formatStats(result.before)}`);
          write(`after:  ${formatStats(result.after)}`);
          write(`corrected ${result.correctedShards} ledger shard(s)${result.recounts > 0 ? ` after ${result.recounts} recount(s)` : ''}`);
        } finally {
          doc.destroy();
        }
      }),
    );
}
