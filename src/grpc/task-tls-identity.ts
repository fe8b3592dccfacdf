/**
 * The TLS identity a Fargate task serves on its own port. The NLB terminates the callers' TLS
 * with the ACM certificate and opens a second TLS connection to the task; AWS documents that an
 * NLB does not validate target certificates, so a key made in memory at start (never written,
 * never shared between tasks) is enough to encrypt the hop inside the VPC.
 */
import { hostname } from 'node:os';
import { generate } from 'selfsigned';
import type { ServerTlsIdentity } from './server.js';

const DAY_MS = 86_400_000;

/** A fresh P-256 key and a self-signed certificate for this task. */
export async function createTaskTlsIdentity(): Promise<ServerTlsIdentity> {
  const now = Date.now();
  const name = hostname().slice(0, 64) || 'device-service';
  const { cert, private: key } = await generate([{ name: 'commonName', value: name }], {
    algorithm: 'sha256',
    keyType: 'ec',
    notBeforeDate: new Date(now - DAY_MS),
    // Tasks are replaced on every deployment and scale-in long before this.
    notAfterDate: new Date(now + 365 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: name }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { certificateChainPem: cert, privateKeyPem: key };
}
