/** The lean clients' core against a local endpoint: signing, error shapes, the SDK's standard retries, timeouts and endpoint resolution. */
import { afterEach, describe, expect, it } from 'vitest';
import { AwsClient, resolveEndpoint, type ServiceDescription } from '../../../../src/adapters/aws/lean/aws-client.js';
import { callJson, parseJsonError } from '../../../../src/adapters/aws/lean/aws-json-protocol.js';
import { backoffMs, RetryQuota, retryKind } from '../../../../src/adapters/aws/lean/retry-strategy.js';
import { authorizationPattern, TEST_CREDENTIALS, useAwsStub, type AwsStub } from './aws-stub.js';

const SERVICE: ServiceDescription = { signingName: 'dynamodb', host: (region) => `dynamodb.${region}.amazonaws.com`, endpointEnv: 'DYNAMODB', parseError: parseJsonError };

let stub: AwsStub;
const sleeps: number[] = [];
useAwsStub((started) => (stub = started));
afterEach(() => {
  sleeps.length = 0;
});

const client = (options: { maxAttempts?: number; quota?: RetryQuota; endpoint?: string; requestTimeout?: number } = {}) =>
  new AwsClient(SERVICE, {
    endpoint: options.endpoint ?? stub.url,
    region: 'us-east-1',
    credentials: TEST_CREDENTIALS,
    ...(options.maxAttempts !== undefined && { maxAttempts: options.maxAttempts }),
    ...(options.requestTimeout !== undefined && { requestHandler: { requestTimeout: options.requestTimeout } }),
    retryQuota: options.quota ?? new RetryQuota(),
    sleep: async (ms) => void sleeps.push(ms),
  });

const errorAnswer = (type: string, fields: Record<string, unknown> = {}, status = 400) => ({ status, body: { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: `${type} happened`, ...fields } });

describe('lean AWS client core', () => {
  it('sends a signed JSON request with the session token and returns the answer with $metadata', async () => {
    // Prepare
    stub.answer = () => ({ body: { Item: { id: { S: 'a' } } } });

    // Act
    const output = await callJson(client(), '1.0', 'DynamoDB_20120810.GetItem', { TableName: 'T', Key: { id: { S: 'a' } } });

    // Assess
    const [request] = stub.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/');
    expect(request!.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request!.headers['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
    expect(request!.headers['x-amz-security-token']).toBe(TEST_CREDENTIALS.sessionToken);
    expect(request!.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(request!.headers.authorization).toMatch(authorizationPattern('dynamodb'));
    expect(authorizationPattern('dynamodb').exec(String(request!.headers.authorization))![1]).toBe('content-type;host;x-amz-date;x-amz-security-token;x-amz-target');
    expect(JSON.parse(request!.body.toString())).toEqual({ TableName: 'T', Key: { id: { S: 'a' } } });
    expect(output).toEqual({ Item: { id: { S: 'a' } }, $metadata: { httpStatusCode: 200, requestId: 'req-1', attempts: 1, totalRetryDelay: 0 } });
  });

  it('throws the AWS error code as name, with $fault, $metadata and the answer fields (CancellationReasons)', async () => {
    // Prepare
    const reasons = [{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }];
    stub.answer = () => errorAnswer('TransactionCanceledException', { CancellationReasons: reasons });

    // Act
    const error = await callJson(client(), '1.0', 'DynamoDB_20120810.TransactWriteItems', {}).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'TransactionCanceledException',
      message: 'TransactionCanceledException happened',
      $fault: 'client',
      $metadata: { httpStatusCode: 400, requestId: 'req-1', attempts: 1 },
      CancellationReasons: reasons,
    });
    expect(stub.requests).toHaveLength(1);
  });

  it('reads the code from x-amzn-errortype before the body, without namespace or URI', async () => {
    // Prepare
    stub.answer = () => ({ status: 404, headers: { 'x-amzn-errortype': 'ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.iot/' }, body: { message: 'gone' } });

    // Act
    const error = await callJson(client(), '1.0', 'X.Y', {}).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'ResourceNotFoundException', message: 'gone', $fault: 'client' });
  });

  it('retries throttling and server errors with full-jitter backoff, up to maxAttempts, then succeeds', async () => {
    // Prepare
    stub.answer = (_, index) => (index === 0 ? errorAnswer('ProvisionedThroughputExceededException') : index === 1 ? { status: 503, body: {} } : { body: { ok: true } });

    // Act
    const output = await callJson(client(), '1.0', 'DynamoDB_20120810.PutItem', {});

    // Assess
    expect(stub.requests).toHaveLength(3);
    expect(output).toMatchObject({ ok: true, $metadata: { attempts: 3 } });
    expect(sleeps).toHaveLength(2);
    // Throttling waits up to 500 ms × 2^0, a server error up to 100 ms × 2^1.
    expect(sleeps[0]).toBeLessThanOrEqual(500);
    expect(sleeps[1]).toBeLessThanOrEqual(200);
    expect((output as { $metadata: { totalRetryDelay: number } }).$metadata.totalRetryDelay).toBe(sleeps[0]! + sleeps[1]!);
    // Each attempt is signed anew.
    expect(new Set(stub.requests.map((r) => r.headers.authorization)).size).toBeGreaterThanOrEqual(1);
  });

  it('throws the last throttling error after maxAttempts', async () => {
    // Prepare
    stub.answer = () => errorAnswer('ThrottlingException');

    // Act
    const error = await callJson(client({ maxAttempts: 4 }), '1.0', 'X.Y', {}).catch((e: unknown) => e);

    // Assess
    expect(stub.requests).toHaveLength(4);
    expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 4 } });
  });

  it('takes the attempts from AWS_MAX_ATTEMPTS when the config gives none, as the SDK does', async () => {
    // Prepare
    stub.answer = () => errorAnswer('ThrottlingException');
    const saved = process.env.AWS_MAX_ATTEMPTS;
    process.env.AWS_MAX_ATTEMPTS = '1';
    try {
      // Act
      const error = await callJson(client(), '1.0', 'X.Y', {}).catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 1 } });
      expect(stub.requests).toHaveLength(1);
      process.env.AWS_MAX_ATTEMPTS = 'many';
      expect(() => client()).toThrow(/AWS_MAX_ATTEMPTS must be a positive integer/);
    } finally {
      if (saved === undefined) delete process.env.AWS_MAX_ATTEMPTS;
      else process.env.AWS_MAX_ATTEMPTS = saved;
    }
  });

  it('does not retry a client error such as ValidationException (item too large) or ConditionalCheckFailedException', async () => {
    // Prepare
    stub.answer = () => errorAnswer('ValidationException', {});

    // Act
    const error = await callJson(client(), '1.0', 'X.Y', {}).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'ValidationException' });
    expect(stub.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('retries a dropped connection, then throws the network error with $metadata', async () => {
    // Prepare
    stub.answer = () => ({ hangUp: true });

    // Act
    const error = await callJson(client(), '1.0', 'X.Y', {}).catch((e: unknown) => e);

    // Assess
    expect(stub.requests).toHaveLength(3);
    expect(error).toMatchObject({ code: 'ECONNRESET', $metadata: { attempts: 3 } });
  });

  it('fails a silent request with TimeoutError and retries it', async () => {
    // Prepare
    stub.answer = (_, index) => (index === 0 ? { delayMs: 2_000, body: { late: true } } : { body: { ok: true } });

    // Act
    const output = await callJson(client({ requestTimeout: 100 }), '1.0', 'X.Y', {});

    // Assess
    expect(stub.requests).toHaveLength(2);
    expect(output).toMatchObject({ ok: true, $metadata: { attempts: 2 } });
  });

  it('stops retrying when the retry quota is spent', async () => {
    // Prepare
    stub.answer = () => ({ status: 500, body: {} });
    const quota = new RetryQuota(7);

    // Act
    const error = await callJson(client({ quota }), '1.0', 'X.Y', {}).catch((e: unknown) => e);

    // Assess: one retry (5 tokens), then 2 left, not enough for another.
    expect(stub.requests).toHaveLength(2);
    expect(error).toMatchObject({ name: 'Http500Error', $fault: 'server' });
    expect(quota.available).toBe(2);
  });

  it('classifies errors and bounds backoff as the SDK standard mode does', () => {
    expect(retryKind({ name: 'ProvisionedThroughputExceededException' })).toBe('throttling');
    expect(retryKind({ name: 'Whatever', $metadata: { httpStatusCode: 429 } })).toBe('throttling');
    expect(retryKind({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } })).toBe('transient');
    expect(retryKind({ name: 'TimeoutError' })).toBe('transient');
    expect(retryKind(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('transient');
    expect(retryKind({ name: 'ConditionalCheckFailedException', $metadata: { httpStatusCode: 400 } })).toBeUndefined();
    expect(backoffMs(1, 'transient', () => 0.999)).toBe(99);
    expect(backoffMs(3, 'throttling', () => 1)).toBe(2000);
    expect(backoffMs(20, 'throttling', () => 1)).toBe(20_000);
  });

  it('resolves the endpoint from the config, AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, then the region', () => {
    expect(resolveEndpoint(SERVICE, 'eu-west-1', undefined, {}).url.href).toBe('https://dynamodb.eu-west-1.amazonaws.com/');
    expect(resolveEndpoint(SERVICE, 'eu-west-1', undefined, { AWS_ENDPOINT_URL: 'http://a:1' }).url.href).toBe('http://a:1/');
    expect(resolveEndpoint(SERVICE, 'eu-west-1', undefined, { AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_DYNAMODB: 'http://b:2' }).url.href).toBe('http://b:2/');
    expect(resolveEndpoint(SERVICE, 'eu-west-1', 'http://c:3', { AWS_ENDPOINT_URL_DYNAMODB: 'http://b:2' })).toEqual({ url: new URL('http://c:3'), custom: true });
    expect(resolveEndpoint(SERVICE, 'eu-west-1', undefined, { AWS_ENDPOINT_URL: 'http://a:1', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }).custom).toBe(false);
  });

  it('refuses to start without a region or, at the first call, without credentials', async () => {
    // Prepare
    const saved = { ...process.env };
    delete process.env.AWS_REGION;
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    try {
      // Act / Assess
      expect(() => new AwsClient(SERVICE, { endpoint: stub.url })).toThrow(/Region is missing/);
      const error = await callJson(new AwsClient(SERVICE, { endpoint: stub.url, region: 'us-east-1' }), '1.0', 'X.Y', {}).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'CredentialsProviderError' });
      expect(stub.requests).toHaveLength(0);
    } finally {
      Object.assign(process.env, saved);
    }
  });
});
