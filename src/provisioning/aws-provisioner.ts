/**
 * Provisioning against AWS IoT Core: CreateThing, CreateKeysAndCertificate (or, for a device that
 * made its own key, CreateCertificateFromCsr), AttachPolicy, AttachThingPrincipal and the registry
 * record, one device after another. Every step is
 * idempotent and recorded in a state file before the next one starts, so a bulk run that
 * stops half-way (Ctrl-C, throttling, a lost network) resumes where it stopped and never makes
 * a second certificate for a device whose key was already written.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateCertificateFromCsrCommand,
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  DescribeEndpointCommand,
  ListThingPrincipalsCommand,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import { IotCredentialRetirer, type RetirementCommand } from '../adapters/iot/iot-credential-retirer.js';
import { isDomainError, ValidationError } from '../domain/errors.js';
import { boundCertificates, type CertificateBinding, type DeviceCredentialStore } from '../ports/device-credentials.js';
import { parseCertificateRequest } from './certificate-request.js';
import { deviceTopics, readDeviceBundle, writeDeviceBundle, type DeviceBundle } from './device-bundle.js';
import type { ProvisioningRegistry } from './local-provisioner.js';

/** The IoT control-plane commands provisioning sends. */
export type IotCommand =
  | CreateThingCommand
  | CreateKeysAndCertificateCommand
  | CreateCertificateFromCsrCommand
  | AttachPolicyCommand
  | AttachThingPrincipalCommand
  | DescribeEndpointCommand
  | UpdateCertificateCommand
  | ListThingPrincipalsCommand
  | RetirementCommand;

/** What provisioning needs of an IoTClient (the real one, or an in-memory fake in tests). */
export interface IotSender {
  send(command: IotCommand): Promise<unknown>;
}

/** How far one device got. */
export interface DeviceProgress {
  readonly name: string;
  readonly thingName: string;
  readonly dir: string;
  certificateId?: string;
  certificateArn?: string;
  steps: Array<'thing' | 'certificate' | 'policy' | 'principal' | 'registry' | 'bundle'>;
}

/** The resumable state of a bulk run. */
export interface ProvisioningState {
  readonly version: 1;
  readonly devices: Record<string, DeviceProgress>;
}

/** Options of {@link provisionAwsDevices}. */
export interface AwsProvisioningOptions {
  readonly iot: IotSender;
  readonly registry: ProvisioningRegistry;
  /** Where the certificate id is recorded (revoke reads it back); never the registry metadata. */
  readonly credentials: DeviceCredentialStore;
  /** The DevicePolicy stack output. */
  readonly policyName: string;
  readonly stateFile: string;
  /** The Amazon root CA devices verify the endpoint with (ca.crt). */
  readonly rootCa: () => Promise<string>;
  /** @default 8883 */
  readonly port?: number;
  /** Called after each device (progress bar). */
  readonly onDevice?: (result: DeviceResult) => void;
}

/** One device's outcome. */
export type DeviceResult =
  | { readonly name: string; readonly status: 'created' | 'resumed' | 'unchanged'; readonly thingName: string }
  | { readonly name: string; readonly status: 'failed'; readonly error: string };

/** Totals of a run. */
export interface ProvisioningSummary {
  readonly created: number;
  readonly resumed: number;
  readonly unchanged: number;
  readonly failed: number;
  readonly results: readonly DeviceResult[];
}

async function loadState(file: string): Promise<ProvisioningState> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as ProvisioningState;
    if (state.version !== 1 || typeof state.devices !== 'object') throw new Error('unknown format');
    return state;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, devices: {} };
    throw new ValidationError(`Cannot read provisioning state ${file}: ${(error as Error).message}`, 'stateFile', { cause: error });
  }
}

async function saveState(file: string, state: ProvisioningState): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  // Write then rename: a crash mid-write must not lose the record of certificates already created.
  await writeFile(`${file}.tmp`, JSON.stringify(state, null, 2));
  await rename(`${file}.tmp`, file);
}

const alreadyExists = (error: unknown) => (error as { name?: string }).name === 'ResourceAlreadyExistsException';

/** Provisions each device of `devices` (resuming from the state file); never throws for one device's failure. */
export async function provisionAwsDevices(
  options: AwsProvisioningOptions,
  devices: ReadonlyArray<{ name: string; type: string; dir: string; csrFile?: string }>,
): Promise<ProvisioningSummary> {
  const state = await loadState(options.stateFile);
  const port = options.port ?? 8883;
  let endpoint: string | undefined;
  let rootCa: string | undefined;
  const results: DeviceResult[] = [];

  for (const request of devices) {
    let progress = state.devices[request.name];
    const resumed = progress !== undefined && progress.steps.length > 0;
    try {
      if (progress?.steps.includes('bundle')) {
        const result: DeviceResult = { name: request.name, status: 'unchanged', thingName: progress.thingName };
        results.push(result);
        options.onDevice?.(result);
        continue;
      }
      // Checked before any AWS call: a refused CSR creates no thing and no certificate.
      const csr = request.csrFile === undefined ? undefined : await parseCertificateRequest(await readFile(request.csrFile, 'utf8'), request.csrFile);
      if (!progress) {
        progress = { name: request.name, thingName: randomUUID(), dir: request.dir, steps: [] };
        state.devices[request.name] = progress;
        await saveState(options.stateFile, state);
      }
      const p = progress;
      const step = async (name: DeviceProgress['steps'][number], run: () => Promise<void>) => {
        if (p.steps.includes(name)) return;
        await run();
        p.steps.push(name);
        await saveState(options.stateFile, state);
      };

      await step('thing', async () => {
        try {
          await options.iot.send(
            new CreateThingCommand({ thingName: p.thingName, attributePayload: { attributes: { deviceType: request.type } } }),
          );
        } catch (error) {
          if (!alreadyExists(error)) throw error;
        }
      });
      await step('certificate', async () => {
        if (csr) {
          const signed = (await options.iot.send(
            new CreateCertificateFromCsrCommand({ certificateSigningRequest: csr.pem, setAsActive: true }),
          )) as { certificateArn?: string; certificateId?: string; certificatePem?: string };
          if (!signed.certificateArn || !signed.certificateId || !signed.certificatePem) {
            throw new Error('CreateCertificateFromCsr returned no certificate');
          }
          p.certificateArn = signed.certificateArn;
          p.certificateId = signed.certificateId;
          rootCa ??= await options.rootCa();
          // No device.key: the key stays on the device that made the CSR.
          await writeDeviceBundle(p.dir, { manifest: manifest(p, request.type, '', port), certificatePem: signed.certificatePem, caCertificatePem: rootCa });
          return;
        }
        const created = (await options.iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }))) as {
          certificateArn?: string;
          certificateId?: string;
          certificatePem?: string;
          keyPair?: { PrivateKey?: string };
        };
        if (!created.certificateArn || !created.certificateId || !created.certificatePem || !created.keyPair?.PrivateKey) {
          throw new Error('CreateKeysAndCertificate returned no certificate or key');
        }
        p.certificateArn = created.certificateArn;
        p.certificateId = created.certificateId;
        // The private key is returned only once: it is on disk before the step counts as done.
        rootCa ??= await options.rootCa();
        await writeDeviceBundle(p.dir, {
          manifest: manifest(p, request.type, '', port),
          certificatePem: created.certificatePem,
          privateKeyPem: created.keyPair.PrivateKey,
          caCertificatePem: rootCa,
        });
      });
      await step('policy', () => options.iot.send(new AttachPolicyCommand({ policyName: options.policyName, target: p.certificateArn })).then(() => undefined));
      await step('principal', () =>
        options.iot.send(new AttachThingPrincipalCommand({ thingName: p.thingName, principal: p.certificateArn })).then(() => undefined),
      );
      await step('registry', async () => {
        try {
          await options.registry.create({ id: p.thingName, name: request.name, type: request.type });
        } catch (error) {
          if (!isDomainError(error) || error.code !== 'ALREADY_EXISTS') throw error;
        }
        // Idempotent, so a run interrupted between the record and the binding binds on resume.
        await options.credentials.bind(p.thingName, p.certificateId!);
      });
      await step('bundle', async () => {
        endpoint ??= ((await options.iot.send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }))) as { endpointAddress?: string })
          .endpointAddress;
        if (!endpoint) throw new Error('DescribeEndpoint returned no address');
        const written: DeviceBundle = await readDeviceBundle(p.dir);
        await writeDeviceBundle(p.dir, { ...written, manifest: manifest(p, request.type, endpoint, port, request.name) });
      });
      const result: DeviceResult = { name: request.name, status: resumed ? 'resumed' : 'created', thingName: p.thingName };
      results.push(result);
      options.onDevice?.(result);
    } catch (error) {
      const result: DeviceResult = { name: request.name, status: 'failed', error: `${(error as Error).name}: ${(error as Error).message}` };
      results.push(result);
      options.onDevice?.(result);
    }
  }
  const count = (status: DeviceResult['status']) => results.filter((r) => r.status === status).length;
  return { created: count('created'), resumed: count('resumed'), unchanged: count('unchanged'), failed: count('failed'), results };
}

function manifest(p: DeviceProgress, type: string, endpoint: string, port: number, name = p.name) {
  return {
    thingName: p.thingName,
    deviceId: p.thingName,
    name,
    type,
    target: 'aws' as const,
    endpoint,
    port,
    certificateId: p.certificateId!,
    topics: deviceTopics(p.thingName),
  };
}

/** What a revoke did. */
export type RevokeOutcome =
  | { readonly deleted: false; readonly binding: CertificateBinding }
  /** The device was already deleted: these certificates of its thing were revoked and detached. */
  | { readonly deleted: true; readonly retiredCertificateIds: readonly string[] };

/**
 * Deactivates the device's certificates (UpdateCertificate INACTIVE; the pending one too while a
 * rotation is under way), then marks the binding
 * REVOKED; idempotent. The certificate id comes from the credential store, which registry
 * callers cannot write, so nobody can point a revoke at another device's certificate.
 * A device already deleted has no binding left: its thing's certificates (ListThingPrincipals)
 * are revoked and detached as the change feed does on deletion, so a deletion whose
 * retirement failed can be finished by hand; a thing already gone leaves nothing to do.
 */
export async function revokeAwsDevice(deps: { iot: IotSender; credentials: DeviceCredentialStore }, id: string): Promise<RevokeOutcome> {
  const binding = await deps.credentials.get(id);
  if (!binding) return { deleted: true, retiredCertificateIds: await retireThingCertificates(deps.iot, id) };
  if (!binding.certificateId) throw new ValidationError(`Device ${id} has no certificate bound; nothing to deactivate`, 'id');
  for (const certificateId of boundCertificates(binding)) await deps.iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'INACTIVE' }));
  return { deleted: false, binding: await deps.credentials.revoke(id) };
}

async function retireThingCertificates(iot: IotSender, thingName: string): Promise<string[]> {
  const retirer = new IotCredentialRetirer(iot);
  const retired: string[] = [];
  let nextToken: string | undefined;
  do {
    let page: { principals?: string[]; nextToken?: string };
    try {
      page = (await iot.send(new ListThingPrincipalsCommand({ thingName, ...(nextToken && { nextToken }) }))) as typeof page;
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') return retired;
      throw error;
    }
    for (const principal of page.principals ?? []) {
      const certificateId = /:cert\/([0-9a-f]{64})$/.exec(principal)?.[1];
      if (!certificateId) continue;
      await retirer.retire(thingName, certificateId);
      retired.push(certificateId);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return retired;
}
