/**
 * `iotctl local` as a real child process on a temporary data directory and OS-picked ports, for
 * the tests that run the platform as `npm start` does: start it, read the endpoints it prints,
 * provision a device with `iotctl device create`, and clean up every process and directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { READY_LINE } from '../../../src/cli/commands/local.js';
import { readDeviceBundle, type DeviceBundle } from '../../../src/provisioning/device-bundle.js';
import { connectBundle } from '../../local/iot-core/mqtt-device.js';

const BIN = new URL('../../../bin/iotctl.js', import.meta.url).pathname;
const ANY_PORTS = ['--port-dynamodb', '0', '--port-mqtt', '0', '--port-graphql', '0', '--port-grpc', '0'];

/** Runs the CLI once to completion. */
export const iotctl = (args: string[]) => promisify(execFile)(process.execPath, [BIN, ...args], { encoding: 'utf8' });

/** A running `iotctl local`. */
export interface LocalPlatformProcess {
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** Everything it wrote so far (stdout and stderr). */
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The endpoints it printed. */
  readonly dynamodb: string;
  readonly graphqlUrl: string;
  readonly mqttPort: number;
  readonly grpcAddress: string;
  /** An access token of the local issuer (`iotctl token`). */
  token(user: string, group: 'admin' | 'viewer'): Promise<string>;
  /** Registers a device with `iotctl device create` into a fresh directory and reads its bundle. */
  createDevice(name: string): Promise<DeviceBundle>;
}

/** Starts platforms and makes temporary directories; `cleanup()` (in afterEach) kills and removes them all. */
export function localPlatformProcesses(): {
  tempDir(prefix: string): string;
  start(dataDir: string): Promise<LocalPlatformProcess>;
  cleanup(): void;
} {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const tempDir = (prefix: string): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  return {
    tempDir,
    async start(dataDir) {
      // As a program, through its first line, as `npm start` runs it.
      const child = spawn(BIN, ['local', '--data-dir', dataDir, ...ANY_PORTS], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      while (!output.includes(READY_LINE)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`iotctl local exited early:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const dynamodb = where(output, 'dynamodb');
      const mqttPort = Number(new URL(where(output, 'mqtt').replace('mqtts:', 'http:')).port);
      return {
        child,
        dataDir,
        output: () => output,
        exited,
        dynamodb,
        graphqlUrl: where(output, 'graphql'),
        mqttPort,
        grpcAddress: where(output, 'grpc'),
        token: async (user, group) => (await iotctl(['token', '--user', user, '--group', group, '--data-dir', dataDir])).stdout.trim(),
        async createDevice(name) {
          const deviceDir = tempDir(`iotctl-device-${name}-`);
          await iotctl(['device', 'create', name, '--out', deviceDir, '--endpoint', dynamodb, '--data-dir', dataDir, '--mqtt-port', String(mqttPort)]);
          return readDeviceBundle(deviceDir);
        },
      };
    },
    cleanup() {
      for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The WHERE column of a row of the endpoint table `iotctl local` prints. */
function where(output: string, service: string): string {
  const match = new RegExp(`^${service}\\s+(\\S+)$`, 'm').exec(output);
  if (!match) throw new Error(`no ${service} row in:\n${output}`);
  return match[1]!;
}

/** Polls `check` until it returns true (eventual consistency), failing after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A device's MQTT 3.1.1 session over mutual TLS with its own certificate, without reconnects. */
export function connectDevice(bundle: DeviceBundle, mqttPort: number): Promise<MqttClient> {
  return connectBundle(`mqtts://127.0.0.1:${mqttPort}`, bundle);
}
