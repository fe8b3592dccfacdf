/**
 * The files a provisioned device receives: `device.crt`, `device.key` (owner-only), `ca.crt`
 * (the CA that signed the broker's certificate) and `device.json` (thing name, endpoint, port
 * and the topics of the device contract).
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import { basicIngestTopic, commandResponseTopic, commandTopic, stateTopic, telemetryTopic, twinDeltaTopic } from '../contracts/topics.js';
import { TELEMETRY_RULE_NAME } from '../contracts/rules.js';

/** device.json */
export interface DeviceManifest {
  readonly thingName: string;
  readonly deviceId: string;
  readonly name: string;
  readonly type: string;
  readonly target: 'local' | 'aws';
  /** MQTT host (the IoT data endpoint, or 127.0.0.1 locally). */
  readonly endpoint: string;
  readonly port: number;
  readonly certificateId: string;
  readonly topics: {
    /** Publish telemetry here (Basic Ingest: no messaging charge). */
    readonly telemetry: string;
    /** Publish reported state here (a merge patch). */
    readonly state: string;
    /** Subscribe here for commands. */
    readonly commands: string;
    /** Publish command answers here. */
    readonly commandResponses: string;
    /** Subscribe here for the twin delta. */
    readonly delta: string;
  };
}

/** A device's credentials and manifest. */
export interface DeviceBundle {
  readonly manifest: DeviceManifest;
  readonly certificatePem: string;
  /** Absent when the device sent a CSR: its key stays on the device. */
  readonly privateKeyPem?: string;
  readonly caCertificatePem: string;
}

/** The device contract's topics for one thing. */
export function deviceTopics(thingName: string): DeviceManifest['topics'] {
  return {
    telemetry: basicIngestTopic(TELEMETRY_RULE_NAME, telemetryTopic(thingName)),
    state: stateTopic(thingName),
    commands: commandTopic(thingName),
    commandResponses: commandResponseTopic(thingName),
    delta: twinDeltaTopic(thingName),
  };
}

/** File names inside a bundle directory. */
export const BUNDLE_FILES = { cert: 'device.crt', key: 'device.key', ca: 'ca.crt', manifest: 'device.json' } as const;

/** Writes the bundle into `dir` (created if needed); the private key is readable by its owner only. */
export async function writeDeviceBundle(dir: string, bundle: DeviceBundle): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, BUNDLE_FILES.cert), bundle.certificatePem);
  if (bundle.privateKeyPem !== undefined) {
    await writeFile(join(dir, BUNDLE_FILES.key), bundle.privateKeyPem, { mode: 0o600 });
    // writeFile keeps an existing file's mode: make sure a re-provisioned key is private too.
    await chmod(join(dir, BUNDLE_FILES.key), 0o600);
  }
  await writeFile(join(dir, BUNDLE_FILES.ca), bundle.caCertificatePem);
  await writeFile(join(dir, BUNDLE_FILES.manifest), `${JSON.stringify(bundle.manifest, null, 2)}\n`);
}

/** Reads a bundle written by {@link writeDeviceBundle}; ValidationError when it is incomplete. */
export async function readDeviceBundle(dir: string): Promise<DeviceBundle> {
  try {
    const read = (name: string) => readFile(join(dir, name), 'utf8');
    const manifest = JSON.parse(await read(BUNDLE_FILES.manifest)) as DeviceManifest;
    if (typeof manifest.thingName !== 'string' || typeof manifest.port !== 'number') throw new Error('device.json lacks thingName or port');
    return {
      manifest,
      certificatePem: await read(BUNDLE_FILES.cert),
      ...(await read(BUNDLE_FILES.key).then(
        (privateKeyPem) => ({ privateKeyPem }),
        (error: NodeJS.ErrnoException) => {
          // A CSR-provisioned bundle has no key file: the key lives on the device.
          if (error.code === 'ENOENT') return {};
          throw error;
        },
      )),
      caCertificatePem: await read(BUNDLE_FILES.ca),
    };
  } catch (error) {
    throw new ValidationError(`${dir} is not a device bundle: ${(error as Error).message}`, 'dir', { cause: error });
  }
}
