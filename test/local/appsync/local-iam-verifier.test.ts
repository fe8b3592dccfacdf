import { describe, expect, it } from 'vitest';
import { createAppSyncSigner } from '../../../src/adapters/appsync/sigv4-signer.js';
import { LocalIamVerifier, SignatureError, type SignedRequest } from '../../../src/local/appsync/local-iam-verifier.js';

const credentials = { accessKeyId: 'LOCALKEY', secretAccessKey: 'local-secret' };
const body = '{"query":"mutation { publishDeviceUpdate }"}';

async function signed(options: { region?: string; date?: Date; keyId?: string; secret?: string } = {}): Promise<SignedRequest> {
  const signer = createAppSyncSigner(options.region ?? 'us-east-1', {
    accessKeyId: options.keyId ?? credentials.accessKeyId,
    secretAccessKey: options.secret ?? credentials.secretAccessKey,
  });
  const request = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: 4000, path: '/graphql', query: {}, headers: { host: '127.0.0.1:4000', 'content-type': 'application/json' }, body },
    { signingDate: options.date ?? new Date() },
  );
  return { method: 'POST', path: '/graphql', headers: request.headers as Record<string, string>, body };
}

describe('LocalIamVerifier', () => {
  const verifier = new LocalIamVerifier([credentials], 'us-east-1');

  it('accepts a request signed with the local credentials and returns the access key id', async () => {
    // Act / Assess
    await expect(verifier.verify(await signed())).resolves.toBe('LOCALKEY');
  });

  it.each([
    ['a wrong secret', { secret: 'guess' }, /Signature does not match/],
    ['an unknown access key', { keyId: 'OTHER' }, /Unknown access key/],
    ['another region', { region: 'eu-west-1' }, /scope is not this API/],
    ['a signature older than five minutes', { date: new Date(Date.now() - 6 * 60_000) }, /Signature expired/],
  ])('refuses %s', async (_what, options, message) => {
    // Act / Assess
    await expect(verifier.verify(await signed(options))).rejects.toThrow(message);
  });

  it('refuses a body changed after signing, a changed signed header and a non-SigV4 Authorization', async () => {
    // Prepare
    const original = await signed();

    // Act
    const attempts = [
      { ...original, body: body.replace('publish', 'delete') },
      { ...original, headers: { ...original.headers, 'content-type': 'text/plain' } },
      { ...original, headers: { ...original.headers, authorization: 'Bearer abc' } },
    ].map((request) => verifier.verify(request).then(() => 'accepted', (e: unknown) => e));

    // Assess
    for (const outcome of await Promise.all(attempts)) expect(outcome).toBeInstanceOf(SignatureError);
  });
});
