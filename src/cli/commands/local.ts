/**
 * `iotctl local`: runs the whole platform in this process until Ctrl-C (`npm start`).
 */
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_PORTS, PORT_FLAGS, startLocalPlatform, type LocalPlatform, type LocalPorts } from '../../local/platform.js';
import { DataDirLockedError, PortInUseError } from '../../local/startup-errors.js';
import { limitHeapGrowth, youngGenerationFlag } from '../../local/heap-growth.js';

/** The line `iotctl local` prints once everything is up (scripts and tests wait for it). */
export const READY_LINE = 'Local platform is ready. Press Ctrl-C to stop.';

/** How long a clean stop may take before `iotctl local` exits anyway. */
const STOP_TIMEOUT_MS = 15_000;

interface LocalCommandOptions {
  ephemeral?: boolean;
  dataDir: string;
  host: string;
  portDynamodb: number;
  portMqtt: number;
  portGraphql: number;
  portGrpc: number;
}

/** Adds `local` to `program`. */
export function register(program: Command): void {
  const command = program
    .command('local')
    .description('run the whole platform on this machine (no AWS, no Docker) until Ctrl-C')
    .option('--ephemeral', 'keep all data in memory; nothing is read from or written to the data directory')
    .option('--data-dir <dir>', 'where data persists across restarts', '.local')
    .option('--host <host>', 'interface every listener binds to', '127.0.0.1');
  for (const name of Object.keys(DEFAULT_PORTS) as Array<keyof typeof DEFAULT_PORTS>) {
    command.option(`${PORT_FLAGS[name]} <port>`, `port of the ${name} endpoint (0 = any free port)`, parsePort, DEFAULT_PORTS[name]);
  }
  command.action(async (options: LocalCommandOptions) => {
    await runLocal(options);
  });
}

async function runLocal(options: LocalCommandOptions): Promise<void> {
  const ports: LocalPorts = {
    dynamodb: options.portDynamodb,
    mqtt: options.portMqtt,
    graphql: options.portGraphql,
    grpc: options.portGrpc,
  };
  const log = (line: string) => console.log(`[local] ${line}`);
  // This process runs for hours under device load: keep its heap near what is live.
  const youngGeneration = youngGenerationFlag() ?? "V8's default (run bin/iotctl.js as a program to cap it)";
  log(`heap growth ${limitHeapGrowth()}, young generation ${youngGeneration}`);
  let platform: LocalPlatform;
  try {
    platform = await startLocalPlatform({
      ...(options.ephemeral ? { ephemeral: true } : { dataDir: options.dataDir }),
      host: options.host,
      ports,
      log,
    });
  } catch (error) {
    if (error instanceof PortInUseError || error instanceof DataDirLockedError) {
      console.error(`iotctl local: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }

  console.log(['', endpointTable(platform), '', READY_LINE].join('\n'));

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      console.error(`iotctl local: ${signal} again, exiting without a clean stop`);
      process.exit(130);
    }
    console.log(`\n[local] ${signal}: stopping (press Ctrl-C again to force)`);
    // A server that never closes (a stuck connection) must not keep the terminal hostage.
    setTimeout(() => {
      console.error(`iotctl local: stopping took longer than ${STOP_TIMEOUT_MS / 1000} s, exiting`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    platform.stop().then(
      () => {
        console.log('[local] stopped');
        process.exit(0);
      },
      (error: Error) => {
        console.error(`iotctl local: stop failed: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

/** What runs where, as an aligned two-column table. */
export function endpointTable(platform: Pick<LocalPlatform, 'endpoints' | 'tables' | 'dataDir'> & Partial<Pick<LocalPlatform, 'ingest' | 'caCertificatePath'>>): string {
  const rows: Array<[string, string]> = [
    ...Object.entries(platform.endpoints),
    ...(platform.caCertificatePath ? [['local CA (MQTT, gRPC TLS)', platform.caCertificatePath] as [string, string]] : []),
    ...Object.entries(platform.tables).map(([id, name]): [string, string] => [`table ${id}`, name]),
    ['data', platform.dataDir ?? 'in memory (--ephemeral)'],
    ...(platform.ingest
      ? [
          [
            'ingest batches',
            `up to ${platform.ingest.batchSize} records or ${platform.ingest.batchWindowSeconds} s (INGEST_BATCH_SIZE, INGEST_BATCH_WINDOW_SECONDS)`,
          ] as [string, string],
        ]
      : []),
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [`${'SERVICE'.padEnd(width)}  WHERE`, ...rows.map(([name, where]) => `${name.padEnd(width)}  ${where}`)].join('\n');
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return port;
}
