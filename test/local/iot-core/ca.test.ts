import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/errors.js';
import { openLocalCa } from '../../../src/local/iot-core/ca.js';

describe('openLocalCa', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ca-test-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('issues a device certificate naming the thing, signed by the CA', async () => {
    // Prepare
    const ca = await openLocalCa(dataDir);

    // Act
    const issued = await ca.issueDeviceCertificate('thing-1');

    // Assess
    const cert = new X509Certificate(issued.certificatePem);
    const caCert = new X509Certificate(ca.caCertificatePem);
    expect(cert.subject).toBe('CN=thing-1');
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(issued.certificateId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('creates the CA once and reuses it, also when opened concurrently', async () => {
    // Act
    const [a, b] = await Promise.all([openLocalCa(dataDir), openLocalCa(dataDir)]);
    const c = await openLocalCa(dataDir);

    // Assess
    expect(b.caCertificatePem).toBe(a.caCertificatePem);
    expect(c.caCertificatePem).toBe(a.caCertificatePem);
    expect(c.server.certificatePem).toBe(a.server.certificatePem);
  });

  it('issues a server certificate valid for 127.0.0.1 and localhost', async () => {
    // Prepare
    const ca = await openLocalCa(dataDir);

    // Act
    const server = new X509Certificate(ca.server.certificatePem);

    // Assess
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkHost('localhost')).toBe('localhost');
  });

  it('rejects a thing name IoT would not accept', async () => {
    // Prepare
    const ca = await openLocalCa(dataDir);

    // Act / Assess
    await expect(ca.issueDeviceCertificate('a/b')).rejects.toBeInstanceOf(ValidationError);
    await expect(ca.issueDeviceCertificate('')).rejects.toBeInstanceOf(ValidationError);
  });
});
