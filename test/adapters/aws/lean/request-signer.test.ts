/**
 * The lean clients' SigV4 against the AWS Signature Version 4 test suite: credentials
 * AKIDEXAMPLE, region us-east-1, service `service`, 2015-08-30T12:36:00Z, and each case's
 * published signature; and any request against the SDK's own SignatureV4.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRequestSigner } from '../../../../src/adapters/aws/lean/request-signer.js';
import { Sha256 } from '../../../../src/adapters/aws/sha256.js';

const SUITE_DATE = new Date('2015-08-30T12:36:00Z');
const SUITE_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

const CASES = [
  { name: 'get-vanilla', method: 'GET', query: {}, headers: {}, signed: 'host;x-amz-date', signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' },
  { name: 'post-vanilla', method: 'POST', query: {}, headers: {}, signed: 'host;x-amz-date', signature: '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b' },
  {
    name: 'get-vanilla-query-order-key-case',
    method: 'GET',
    query: { Param2: 'value2', Param1: 'value1' },
    headers: {},
    signed: 'host;x-amz-date',
    signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
  },
  {
    name: 'post-header-value-case',
    method: 'POST',
    query: {},
    headers: { 'My-Header1': 'VALUE1' },
    signed: 'host;my-header1;x-amz-date',
    signature: 'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d',
  },
] as const;

describe('lean clients SigV4', () => {
  it.each(CASES)('signs $name as the AWS test suite does', async ({ method, query, headers, signed, signature }) => {
    // Prepare
    const signer = createRequestSigner('service', 'us-east-1', SUITE_CREDENTIALS);

    // Act
    const result = await signer.sign({ method, protocol: 'https:', hostname: 'example.amazonaws.com', path: '/', query, headers: { host: 'example.amazonaws.com', ...headers } }, SUITE_DATE);

    // Assess
    expect(result['x-amz-date']).toBe('20150830T123600Z');
    expect(result.authorization).toBe(`AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${signed}, Signature=${signature}`);
    expect(result['x-amz-content-sha256']).toBeUndefined();
  });

  it('signs the session token as x-amz-security-token (post-sts-header-before)', async () => {
    // Prepare
    const signer = createRequestSigner('service', 'us-east-1', async () => ({ ...SUITE_CREDENTIALS, sessionToken: SUITE_TOKEN }));

    // Act
    const result = await signer.sign({ method: 'POST', protocol: 'https:', hostname: 'example.amazonaws.com', path: '/', query: {}, headers: { host: 'example.amazonaws.com' } }, SUITE_DATE);

    // Assess
    expect(result['x-amz-security-token']).toBe(SUITE_TOKEN);
    expect(result.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
    );
  });

  it('signs any request as the SignatureV4 of the SDK does (an independent implementation)', async () => {
    const segment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map((text) => encodeURIComponent(text));
    const headerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).filter((name) => !['authorization', 'host', 'x-amz-date', 'x-amz-security-token', 'connection', 'expect', 'from', 'te', 'trailer', 'upgrade', 'pragma', 'referer', 'user-agent', 'keep-alive', 'cache-control', 'max-forwards', 'transfer-encoding', 'x-amzn-trace-id'].includes(name) && !name.startsWith('proxy-') && !name.startsWith('sec-'));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
        fc.array(segment, { maxLength: 4 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 4 }),
        fc.dictionary(headerName, fc.stringMatching(/^[ -~]{0,20}$/), { maxKeys: 4 }),
        fc.oneof(fc.string({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 })),
        fc.option(fc.stringMatching(/^[A-Za-z0-9+/=]{1,40}$/), { nil: undefined }),
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }),
        async (method, segments, query, headers, body, sessionToken, at) => {
          // Prepare
          const credentials = { ...SUITE_CREDENTIALS, ...(sessionToken && { sessionToken }) };
          const request = { method, protocol: 'https:', hostname: 'example.amazonaws.com', path: `/${segments.join('/')}`, query, headers: { ...headers, host: 'example.amazonaws.com' }, body };
          const reference = new SignatureV4({ service: 'dynamodb', region: 'eu-west-1', credentials, sha256: Sha256, uriEscapePath: true, applyChecksum: false });

          // Act
          const ours = await createRequestSigner('dynamodb', 'eu-west-1', credentials).sign(request, at);
          const theirs = (await reference.sign({ ...request, headers: { ...request.headers } } as never, { signingDate: at })) as unknown as { headers: Record<string, string> };

          // Assess
          expect(ours.authorization).toBe(theirs.headers.authorization);
        },
      ),
      { numRuns: 300 },
    );
  });
});
