import { describe, expect, it } from 'vitest';
import { signIotWebSocketUrl } from '../../../src/adapters/iot/sigv4-websocket-url.js';

// No AWS here: these tests check the URL's shape and that the signature is deterministic for a
// fixed date; whether IoT Core accepts it can only be verified in an account.
describe('signIotWebSocketUrl', () => {
  const base = {
    endpoint: 'abc123-ats.iot.eu-west-1.amazonaws.com',
    region: 'eu-west-1',
    signingDate: new Date('2026-11-26T12:00:00Z'),
  };

  it('presigns wss://<endpoint>/mqtt for the iotdevicegateway service', async () => {
    // Act
    const url = new URL(await signIotWebSocketUrl({ ...base, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }));

    // Assess
    expect(url.protocol).toBe('wss:');
    expect(url.host).toBe(base.endpoint);
    expect(url.pathname).toBe('/mqtt');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261126/eu-west-1/iotdevicegateway/aws4_request');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20261126T120000Z');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(url.searchParams.has('X-Amz-Security-Token')).toBe(false);
  });

  it('appends the session token after signing, leaving the signature of the same key unchanged', async () => {
    // Prepare
    const credentials = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret' };

    // Act
    const plain = new URL(await signIotWebSocketUrl({ ...base, credentials }));
    const withToken = new URL(await signIotWebSocketUrl({ ...base, credentials: { ...credentials, sessionToken: 'tok/en+=' } }));

    // Assess
    expect(withToken.searchParams.get('X-Amz-Security-Token')).toBe('tok/en+=');
    expect(withToken.searchParams.get('X-Amz-Signature')).toBe(plain.searchParams.get('X-Amz-Signature'));
    expect(withToken.search.endsWith(`&X-Amz-Security-Token=${encodeURIComponent('tok/en+=')}`)).toBe(true);
  });

  it('signs differently for another secret key', async () => {
    // Act
    const a = new URL(await signIotWebSocketUrl({ ...base, credentials: { accessKeyId: 'AKID', secretAccessKey: 'one' } }));
    const b = new URL(await signIotWebSocketUrl({ ...base, credentials: { accessKeyId: 'AKID', secretAccessKey: 'two' } }));

    // Assess
    expect(a.searchParams.get('X-Amz-Signature')).not.toBe(b.searchParams.get('X-Amz-Signature'));
  });
});
