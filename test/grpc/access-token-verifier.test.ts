import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cognitoAccessTokenVerifier, TokenRejectedError, TokenVerificationUnavailableError } from '../../src/grpc/access-token-verifier.js';

const POOL = 'eu-west-1_VerifierTest';
const ISSUER = `https://cognito-idp.eu-west-1.amazonaws.com/${POOL}`;

describe('cognitoAccessTokenVerifier', () => {
  let jwks: Server;
  let endpointUrl: string;
  let key: CryptoKey;
  let fetches = 0;

  const sign = (claims: Record<string, unknown>, expiresIn = '5m') =>
    new SignJWT({ token_use: 'access', client_id: 'web', username: 'ana', 'cognito:groups': ['viewer'], ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setSubject('11111111-1111-4111-8111-111111111111')
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(key);

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    key = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((req, res) => {
      fetches += 1;
      if (req.url !== `/${POOL}/.well-known/jwks.json`) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    endpointUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => jwks.close(() => r())));

  it("accepts a user's access token of the pool and one of its clients, fetching the JWKS once", async () => {
    // Prepare
    const verify = cognitoAccessTokenVerifier({ userPoolId: POOL, clientIds: ['web', 'internal'], endpointUrl });
    fetches = 0;

    // Act
    const first = await verify(await sign({}));
    const second = await verify(await sign({ client_id: 'internal' }));

    // Assess
    expect(first).toMatchObject({ iss: ISSUER, username: 'ana', 'cognito:groups': ['viewer'] });
    expect(second.client_id).toBe('internal');
    expect(fetches).toBe(1);
  });

  it.each([
    ['an ID token', { token_use: 'id' }, 'invalid'],
    ['another client', { client_id: 'stranger' }, 'invalid'],
  ])('rejects %s as invalid', async (_name, claims, reason) => {
    // Prepare
    const verify = cognitoAccessTokenVerifier({ userPoolId: POOL, clientIds: ['web'], endpointUrl });

    // Act
    const result = verify(await sign(claims));

    // Assess
    await expect(result).rejects.toThrow(TokenRejectedError);
    await expect(result).rejects.toMatchObject({ reason });
  });

  it('rejects an expired token as expired', async () => {
    // Prepare
    const verify = cognitoAccessTokenVerifier({ userPoolId: POOL, clientIds: ['web'], endpointUrl });

    // Act
    const result = verify(await sign({}, '-2m'));

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'TokenRejectedError', reason: 'expired' });
  });

  it('reports the keys as unavailable, not the token as invalid, when the JWKS cannot be fetched', async () => {
    // Prepare: nothing listens on the endpoint.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    const verify = cognitoAccessTokenVerifier({ userPoolId: POOL, clientIds: ['web'], endpointUrl: deadUrl });

    // Act
    const result = verify(await sign({}));

    // Assess
    await expect(result).rejects.toThrow(TokenVerificationUnavailableError);
  });
});
