/**
 * The local certificate authority standing in for AWS IoT's certificate registry: created once
 * under `<dataDir>/ca/`, it issues device certificates whose subject CN is the thing name and
 * the broker's server certificate. Pure Node (selfsigned), so `npm start` needs no openssl.
 */
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate as PeculiarCertificate,
  X509CertificateGenerator,
} from '@peculiar/x509';
import { generate } from 'selfsigned';
import { ValidationError } from '../../domain/errors.js';
import type { CertificateRequest } from '../../provisioning/certificate-request.js';

/** A certificate and its private key, PEM-encoded. */
export interface IssuedCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** Hex SHA-256 of the DER certificate: the same form as an AWS IoT certificate id. */
  readonly certificateId: string;
}

/** A certificate issued for a key the CA never saw (signed from a CSR). */
export type SignedCertificate = Omit<IssuedCertificate, 'privateKeyPem'>;

/** A local CA loaded from (or just created in) its directory. */
export interface LocalCa {
  readonly directory: string;
  readonly caCertificatePem: string;
  /** The broker's TLS identity (localhost, 127.0.0.1, ::1). */
  readonly server: IssuedCertificate;
  /** A client certificate for a device: subject CN = thing name. */
  issueDeviceCertificate(thingName: string): Promise<IssuedCertificate>;
  /** Signs a checked CSR's public key into a client certificate for `thingName` (the CSR's subject is ignored). */
  signDeviceCsr(thingName: string, request: CertificateRequest): Promise<SignedCertificate>;
}

const THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;
const DAY_MS = 86_400_000;
const FILES = { caCert: 'ca.crt', caKey: 'ca.key', serverCert: 'server.crt', serverKey: 'server.key' } as const;

/** The AWS IoT-style certificate id of a PEM certificate. */
export function certificateIdOf(certificatePem: string): string {
  return new X509Certificate(certificatePem).fingerprint256.replaceAll(':', '').toLowerCase();
}

function checkThingName(thingName: string): void {
  if (!THING_NAME.test(thingName)) {
    throw new ValidationError(`Invalid thing name "${thingName}": 1-128 of [a-zA-Z0-9:_-]`, 'thingName');
  }
}

/** A positive 127-bit serial: random so two CA processes never issue the same one. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f;
  return bytes.toString('hex');
}

const NIST_CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384' };

type GeneratorCrypto = NonNullable<Parameters<typeof X509CertificateGenerator.create>[1]>;
type GeneratorSigningKey = Extract<Parameters<typeof X509CertificateGenerator.create>[0], { signingKey: unknown }>['signingKey'];

async function caSigningKey(caKeyPem: string): Promise<GeneratorSigningKey> {
  const key = createPrivateKey(caKeyPem);
  const namedCurve = NIST_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (!namedCurve) throw new Error(`the local CA key is not an EC P-256/P-384 key (${key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyType})`);
  return webcrypto.subtle.importKey('pkcs8', key.export({ format: 'der', type: 'pkcs8' }), { name: 'ECDSA', namedCurve }, false, ['sign']) as unknown as Promise<GeneratorSigningKey>;
}

async function createCaFiles(directory: string): Promise<void> {
  const now = Date.now();
  const ca = await generate([{ name: 'commonName', value: 'IoT platform local CA' }], {
    algorithm: 'sha256',
    keyType: 'ec',
    notBeforeDate: new Date(now - DAY_MS),
    notAfterDate: new Date(now + 3650 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    algorithm: 'sha256',
    keyType: 'ec',
    ca: { key: ca.private, cert: ca.cert },
    notBeforeDate: new Date(now - DAY_MS),
    notAfterDate: new Date(now + 825 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  await writeFile(join(directory, FILES.caCert), ca.cert);
  await writeFile(join(directory, FILES.caKey), ca.private, { mode: 0o600 });
  await writeFile(join(directory, FILES.serverCert), server.cert);
  await writeFile(join(directory, FILES.serverKey), server.private, { mode: 0o600 });
}

async function readCaFiles(directory: string) {
  const read = (name: string) => readFile(join(directory, name), 'utf8');
  return {
    caCert: await read(FILES.caCert),
    caKey: await read(FILES.caKey),
    serverCert: await read(FILES.serverCert),
    serverKey: await read(FILES.serverKey),
  };
}

/**
 * Opens the CA under `<dataDir>/ca/`, creating it on first use. Creation happens in a temporary
 * directory renamed into place, so two processes starting at once (the platform and
 * `iotctl device create`) end up sharing one CA instead of overwriting each other's.
 */
export async function openLocalCa(dataDir: string): Promise<LocalCa> {
  const directory = join(dataDir, 'ca');
  await mkdir(dataDir, { recursive: true });
  let files = await readCaFiles(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!files) {
    const staging = await mkdtemp(join(dataDir, '.ca-'));
    try {
      await createCaFiles(staging);
      await rename(staging, directory);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    files = await readCaFiles(directory);
  }
  const { caCert, caKey, serverCert, serverKey } = files;
  return {
    directory,
    caCertificatePem: caCert,
    server: { certificatePem: serverCert, privateKeyPem: serverKey, certificateId: certificateIdOf(serverCert) },
    async issueDeviceCertificate(thingName) {
      checkThingName(thingName);
      const now = Date.now();
      const issued = await generate([{ name: 'commonName', value: thingName }], {
        algorithm: 'sha256',
        keyType: 'ec',
        ca: { key: caKey, cert: caCert },
        notBeforeDate: new Date(now - DAY_MS),
        notAfterDate: new Date(now + 825 * DAY_MS),
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true },
          { name: 'extKeyUsage', clientAuth: true },
        ],
      });
      return { certificatePem: issued.cert, privateKeyPem: issued.private, certificateId: certificateIdOf(issued.cert) };
    },
    async signDeviceCsr(thingName, request) {
      checkThingName(thingName);
      const now = Date.now();
      // The subject comes from the thing name, never from the CSR: a device must not name itself.
      const certificate = await X509CertificateGenerator.create(
        {
          serialNumber: serialNumber(),
          subject: `CN=${thingName}`,
          issuer: new PeculiarCertificate(caCert).subjectName,
          notBefore: new Date(now - DAY_MS),
          notAfter: new Date(now + 825 * DAY_MS),
          publicKey: request.publicKeySpki,
          signingKey: await caSigningKey(caKey),
          signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
          extensions: [
            new BasicConstraintsExtension(false),
            new KeyUsagesExtension(KeyUsageFlags.digitalSignature),
            new ExtendedKeyUsageExtension([ExtendedKeyUsage.clientAuth]),
          ],
        },
        webcrypto as unknown as GeneratorCrypto,
      );
      const certificatePem = certificate.toString('pem');
      return { certificatePem, certificateId: certificateIdOf(certificatePem) };
    },
  };
}
