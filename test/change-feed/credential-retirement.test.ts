import { describe, expect, it } from 'vitest';
import { InMemoryStats } from '../../src/adapters/memory/in-memory-stats.js';
import { toDeviceItem } from '../../src/adapters/dynamodb/device-item.js';
import { IotCredentialRetirer, type RetirementCommand } from '../../src/adapters/iot/iot-credential-retirer.js';
import { DISCARDED_METRICS } from '../../src/adapters/metrics/discarded-metrics.js';
import { lineLogger } from '../../src/adapters/logging/line-logger.js';
import { composeEventsFunction } from '../../src/functions/events-function.js';
import { device, streamRecord } from './stream-events.js';

const CERT_ID = 'a'.repeat(64);
const arnOf = (certificateId: string) => `arn:aws:iot:us-east-1:123456789012:cert/${certificateId}`;
const CERT_ARN = arnOf(CERT_ID);

/** A stand-in for the IoT control plane that records every request it gets, by command name. */
function controlPlane(options: { status?: string; policies?: string[]; fail?: Record<string, string>; missing?: string[] } = {}) {
  const requests: Array<{ command: string; input: unknown }> = [];
  const iot = {
    async send(command: RetirementCommand): Promise<unknown> {
      const name = command.constructor.name;
      requests.push({ command: name, input: command.input });
      const error = (errorName: string) => Object.assign(new Error(errorName), { name: errorName });
      if (options.fail?.[name]) throw error(options.fail[name]);
      if (options.missing?.includes(name)) throw error('ResourceNotFoundException');
      if (name === 'DescribeCertificateCommand') {
        const { certificateId } = command.input as { certificateId: string };
        return { certificateDescription: { certificateArn: arnOf(certificateId), certificateId, status: options.status ?? 'ACTIVE' } };
      }
      if (name === 'ListAttachedPoliciesCommand') return { policies: (options.policies ?? ['IotPlatformDevicePolicy']).map((policyName) => ({ policyName })) };
      return {};
    },
  };
  return { iot, requests };
}

function handlerWith(iot: ReturnType<typeof controlPlane>['iot']) {
  return composeEventsFunction({
    stats: new InMemoryStats(),
    publishers: [],
    logger: lineLogger('test', () => undefined),
    metrics: DISCARDED_METRICS,
    retirer: new IotCredentialRetirer(iot),
  });
}

const deleted = (sequence: number, certificateId: string | null = CERT_ID) => {
  const d = device('11111111-2222-4333-8444-555555555555');
  return { d, record: streamRecord(sequence, { ...toDeviceItem(d), ...(certificateId && { certificateId, certificateStatus: 'ACTIVE' }) }, undefined) };
};

describe('credentials follow the device: the change feed retires a deleted device certificate', () => {
  it('revokes the certificate, detaches its policies and the thing principal, in that order', async () => {
    // Prepare
    const { iot, requests } = controlPlane();
    const { d, record } = deleted(1);

    // Act
    const response = await handlerWith(iot)({ Records: [record] });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(requests).toEqual([
      { command: 'DescribeCertificateCommand', input: { certificateId: CERT_ID } },
      { command: 'UpdateCertificateCommand', input: { certificateId: CERT_ID, newStatus: 'REVOKED' } },
      { command: 'ListAttachedPoliciesCommand', input: { target: CERT_ARN } },
      { command: 'DetachPolicyCommand', input: { policyName: 'IotPlatformDevicePolicy', target: CERT_ARN } },
      { command: 'DetachThingPrincipalCommand', input: { thingName: d.id, principal: CERT_ARN } },
    ]);
  });

  it('revokes and detaches both certificates of a device deleted in the middle of a rotation', async () => {
    // Prepare
    const { iot, requests } = controlPlane();
    const pending = 'b'.repeat(64);
    const d = device('11111111-2222-4333-8444-777777777777');
    const item = { ...toDeviceItem(d), certificateId: CERT_ID, certificateStatus: 'ACTIVE', pendingCertificateId: pending, graceEndsAt: '2026-12-01T00:00:00.000Z' };

    // Act
    const response = await handlerWith(iot)({ Records: [streamRecord(8, item, undefined)] });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const retired = (certificateId: string) => [
      { command: 'DescribeCertificateCommand', input: { certificateId } },
      { command: 'UpdateCertificateCommand', input: { certificateId, newStatus: 'REVOKED' } },
      { command: 'ListAttachedPoliciesCommand', input: { target: arnOf(certificateId) } },
      { command: 'DetachPolicyCommand', input: { policyName: 'IotPlatformDevicePolicy', target: arnOf(certificateId) } },
      { command: 'DetachThingPrincipalCommand', input: { thingName: d.id, principal: arnOf(certificateId) } },
    ];
    expect(requests).toEqual([...retired(CERT_ID), ...retired(pending)]);
  });

  it('is idempotent: a redelivered deletion finds the certificate revoked and the attachments gone, and succeeds', async () => {
    // Prepare
    const { iot, requests } = controlPlane({ status: 'REVOKED', policies: [], missing: ['DetachThingPrincipalCommand'] });
    const { record } = deleted(2);

    // Act
    const response = await handlerWith(iot)({ Records: [record] });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(requests.map((r) => r.command)).toEqual(['DescribeCertificateCommand', 'ListAttachedPoliciesCommand', 'DetachThingPrincipalCommand']);
  });

  it('succeeds without further requests when the certificate no longer exists', async () => {
    // Prepare
    const { iot, requests } = controlPlane({ missing: ['DescribeCertificateCommand'] });

    // Act
    const response = await handlerWith(iot)({ Records: [deleted(3).record] });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(requests.map((r) => r.command)).toEqual(['DescribeCertificateCommand']);
  });

  it('reports the record as failed when the control plane refuses, so it is retried and then dead-lettered', async () => {
    // Prepare
    const { iot } = controlPlane({ fail: { UpdateCertificateCommand: 'ThrottlingException' } });

    // Act
    const response = await handlerWith(iot)({ Records: [deleted(4).record] });

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '4' }]);
  });

  it('leaves credentials alone for creations, updates and a deleted device that had no certificate', async () => {
    // Prepare
    const { iot, requests } = controlPlane();
    const d = device('11111111-2222-4333-8444-666666666666');
    const item = { ...toDeviceItem(d), certificateId: CERT_ID, certificateStatus: 'ACTIVE' };

    // Act
    const response = await handlerWith(iot)({
      Records: [streamRecord(5, undefined, item), streamRecord(6, item, { ...item, version: 2, name: 'renamed' }), deleted(7, null).record],
    });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(requests).toEqual([]);
  });
});
