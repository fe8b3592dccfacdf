/**
 * The lean clients of the services without a local stand-in, against a local endpoint that
 * records each request: the exact method, path, query, headers, body and signature scope the
 * SDK would send, and the answers (and errors) read back as the SDK returns them.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LeanClientConfig } from '../../../../src/adapters/aws/lean/aws-client.js';
import { EventBridgeClient, PutEventsCommand } from '../../../../src/adapters/aws/lean/eventbridge.js';
import { keepAliveTransport } from '../../../../src/adapters/aws/lean/http-transport.js';
import { DescribeCertificateCommand, DetachThingPrincipalCommand, GetThingConnectivityDataCommand, IoTClient, ListAttachedPoliciesCommand, UpdateCertificateCommand } from '../../../../src/adapters/aws/lean/iot.js';
import { IoTDataPlaneClient, PublishCommand as IotPublishCommand } from '../../../../src/adapters/aws/lean/iot-data-plane.js';
import { RetryQuota } from '../../../../src/adapters/aws/lean/retry-strategy.js';
import { GetSecretValueCommand, SecretsManagerClient } from '../../../../src/adapters/aws/lean/secrets-manager.js';
import { PublishCommand as SnsPublishCommand, SNSClient } from '../../../../src/adapters/aws/lean/sns.js';
import { SendMessageBatchCommand, SQSClient } from '../../../../src/adapters/aws/lean/sqs.js';
import { TimestreamWriteClient, WriteRecordsCommand } from '../../../../src/adapters/aws/lean/timestream-write.js';
import { authorizationPattern, TEST_CREDENTIALS, useAwsStub, type AwsStub } from './aws-stub.js';

let stub: AwsStub;
useAwsStub((started) => (stub = started));

const config = (): LeanClientConfig => ({ endpoint: stub.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, retryQuota: new RetryQuota(), sleep: async () => undefined });
const signedHeaders = (service: string) => authorizationPattern(service).exec(String(stub.requests[0]!.headers.authorization))?.[1];
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

describe('lean SQS client', () => {
  it('sends SendMessageBatch over the JSON protocol and checks the body digests SQS returns', async () => {
    // Prepare
    const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters';
    const entries = [
      { Id: '0', MessageBody: '{"reason":"INVALID_JSON"}' },
      { Id: '1', MessageBody: 'ünïcode' },
    ];
    stub.answer = () => ({ body: { Successful: entries.map((e) => ({ Id: e.Id, MessageId: `m${e.Id}`, MD5OfMessageBody: md5(e.MessageBody) })), Failed: [] } });

    // Act
    const output = await new SQSClient(config()).send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));

    // Assess
    const [request] = stub.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/' });
    expect(request!.headers).toMatchObject({ 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.SendMessageBatch' });
    expect(signedHeaders('sqs')).toBe('content-type;host;x-amz-date;x-amz-security-token;x-amz-target');
    expect(JSON.parse(request!.body.toString())).toEqual({ QueueUrl: queueUrl, Entries: entries });
    expect(output).toMatchObject({ Successful: [{ Id: '0' }, { Id: '1' }], Failed: [] });
  });

  it('refuses an answer whose body digest does not match what was sent', async () => {
    // Prepare
    stub.answer = () => ({ body: { Successful: [{ Id: '0', MessageId: 'm', MD5OfMessageBody: md5('something else') }], Failed: [] } });

    // Act
    const error = await new SQSClient(config()).send(new SendMessageBatchCommand({ QueueUrl: 'https://sqs.us-east-1.amazonaws.com/1/q', Entries: [{ Id: '0', MessageBody: 'x' }] })).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'Md5MismatchError' });
  });

  it('sends to the queue URL host when no endpoint is configured', async () => {
    // Prepare: the transport records where the client sends and answers locally.
    const seen: string[] = [];
    const local = keepAliveTransport();
    const client = new SQSClient({
      region: 'eu-west-1',
      credentials: TEST_CREDENTIALS,
      transport: (request) => {
        seen.push(`${request.url.origin} ${request.headers.host}`);
        return local({ ...request, url: new URL(request.url.pathname, stub.url) });
      },
    });
    stub.answer = () => ({ body: { Successful: [], Failed: [] } });

    // Act
    await client.send(new SendMessageBatchCommand({ QueueUrl: 'https://sqs.eu-central-1.amazonaws.com/1/q', Entries: [] }));

    // Assess
    expect(seen).toEqual(['https://sqs.eu-central-1.amazonaws.com sqs.eu-central-1.amazonaws.com']);
  });
});

describe('lean IoT data plane client', () => {
  it('publishes the raw payload to /topics/{topic} with the MQTT 5 properties as query and headers', async () => {
    // Prepare
    const payload = new TextEncoder().encode('{"on":true}');

    // Act
    await new IoTDataPlaneClient(config()).send(
      new IotPublishCommand({
        topic: 'cmd/dev-1/req',
        qos: 1,
        contentType: 'application/json',
        payload,
        responseTopic: 'cmd/dev-1/res',
        correlationData: Buffer.from('c-1').toString('base64'),
        userProperties: '[{"a":"b"}]',
      }),
    );

    // Assess
    const [request] = stub.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/topics/cmd%2Fdev-1%2Freq?qos=1&contentType=application%2Fjson&responseTopic=cmd%2Fdev-1%2Fres');
    expect(request!.headers).toMatchObject({
      'content-type': 'application/octet-stream',
      'x-amz-mqtt5-correlation-data': Buffer.from('c-1').toString('base64'),
      'x-amz-mqtt5-user-properties': Buffer.from('[{"a":"b"}]').toString('base64'),
    });
    expect(signedHeaders('iotdata')).toBe('content-type;host;x-amz-date;x-amz-mqtt5-correlation-data;x-amz-mqtt5-user-properties;x-amz-security-token');
    expect(request!.body.toString()).toBe('{"on":true}');
  });

  it('throws the error the data plane names in x-amzn-errortype', async () => {
    // Prepare
    stub.answer = () => ({ status: 403, headers: { 'x-amzn-errortype': 'ForbiddenException:http://internal.amazon.com/coral/com.amazon.iotdata/' }, body: { message: 'denied' } });

    // Act
    const error = await new IoTDataPlaneClient(config()).send(new IotPublishCommand({ topic: 't', qos: 1, payload: new Uint8Array() })).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'ForbiddenException', message: 'denied', $fault: 'client', $metadata: { httpStatusCode: 403 } });
  });
});

describe('lean IoT control plane client', () => {
  it('sends each operation with its method, path, query and headers, and reads timestamps as Date', async () => {
    // Prepare
    stub.answer = (request) =>
      request.url.endsWith('/connectivity-data')
        ? { body: { thingName: 'dev 1', connected: false, timestamp: 1764417600.5, disconnectReason: 'CLIENT_INITIATED_DISCONNECT' } }
        : request.url.startsWith('/certificates/') && request.method === 'GET'
          ? { body: { certificateDescription: { certificateArn: 'arn:aws:iot:us-east-1:1:cert/abc', status: 'ACTIVE', creationDate: 1764417600 } } }
          : { body: request.url.startsWith('/attached-policies/') ? { policies: [{ policyName: 'p' }] } : {} };
    const iot = new IoTClient(config());
    const arn = 'arn:aws:iot:us-east-1:1:cert/abc';

    // Act
    const connectivity = await iot.send<{ connected: boolean; timestamp: Date }>(new GetThingConnectivityDataCommand({ thingName: 'dev 1' }));
    const description = await iot.send<{ certificateDescription: { creationDate: Date } }>(new DescribeCertificateCommand({ certificateId: 'abc' }));
    await iot.send(new UpdateCertificateCommand({ certificateId: 'abc', newStatus: 'REVOKED' }));
    const policies = await iot.send(new ListAttachedPoliciesCommand({ target: arn, marker: 'm1' }));
    await iot.send(new DetachThingPrincipalCommand({ thingName: 'dev 1', principal: arn }));

    // Assess
    expect(stub.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /things/dev%201/connectivity-data',
      'GET /certificates/abc',
      'PUT /certificates/abc?newStatus=REVOKED',
      'POST /attached-policies/arn%3Aaws%3Aiot%3Aus-east-1%3A1%3Acert%2Fabc?marker=m1',
      'DELETE /things/dev%201/principals',
    ]);
    expect(stub.requests[4]!.headers['x-amzn-principal']).toBe(arn);
    expect(signedHeaders('iot')).toContain('host;x-amz-date;x-amz-security-token');
    expect(connectivity.timestamp).toEqual(new Date(1764417600500));
    expect(connectivity.connected).toBe(false);
    expect(description.certificateDescription.creationDate).toEqual(new Date(1764417600000));
    expect(policies).toMatchObject({ policies: [{ policyName: 'p' }] });
  });

  it('throws ResourceNotFoundException as IoT names it', async () => {
    // Prepare
    stub.answer = () => ({ status: 404, headers: { 'x-amzn-errortype': 'ResourceNotFoundException' }, body: { message: 'no such thing' } });

    // Act
    const error = await new IoTClient(config()).send(new GetThingConnectivityDataCommand({ thingName: 'ghost' })).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'ResourceNotFoundException', message: 'no such thing' });
  });
});

describe('lean SNS client', () => {
  it('publishes as a form-encoded query request and reads the XML answer', async () => {
    // Prepare
    stub.answer = () => ({
      headers: { 'content-type': 'text/xml' },
      body: '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>94f20ce6-13c5</MessageId></PublishResult><ResponseMetadata><RequestId>f187a3c1</RequestId></ResponseMetadata></PublishResponse>',
    });

    // Act
    const output = await new SNSClient(config()).send(
      new SnsPublishCommand({
        TopicArn: 'arn:aws:sns:us-east-1:1:alarms',
        Subject: '[CRITICAL] hot: ACTIVE on d 1',
        Message: '{"a": "b & c"}',
        MessageAttributes: { severity: { DataType: 'String', StringValue: 'CRITICAL' }, state: { DataType: 'String', StringValue: 'ACTIVE' } },
      }),
    );

    // Assess
    const [request] = stub.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/' });
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request!.body.toString()).toBe(
      'Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3Aalarms&Message=%7B%22a%22%3A%20%22b%20%26%20c%22%7D&Subject=%5BCRITICAL%5D%20hot%3A%20ACTIVE%20on%20d%201' +
        '&MessageAttributes.entry.1.Name=severity&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=CRITICAL' +
        '&MessageAttributes.entry.2.Name=state&MessageAttributes.entry.2.Value.DataType=String&MessageAttributes.entry.2.Value.StringValue=ACTIVE',
    );
    expect(signedHeaders('sns')).toBe('content-type;host;x-amz-date;x-amz-security-token');
    expect(output).toMatchObject({ MessageId: '94f20ce6-13c5', $metadata: { requestId: 'f187a3c1', httpStatusCode: 200 } });
  });

  it('throws the query error code and message', async () => {
    // Prepare
    stub.answer = () => ({
      status: 404,
      body: '<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist &amp; never did</Message></Error><RequestId>r</RequestId></ErrorResponse>',
    });

    // Act
    const error = await new SNSClient(config()).send(new SnsPublishCommand({ TopicArn: 'arn', Message: 'm' })).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'NotFound', message: 'Topic does not exist & never did', $fault: 'client', Type: 'Sender' });
  });
});

describe('lean EventBridge and Secrets Manager clients', () => {
  it('sends PutEvents over JSON 1.1', async () => {
    // Prepare
    stub.answer = () => ({ body: { FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] } });
    const entry = { EventBusName: 'bus', Source: 'iot.platform.alarms', DetailType: 'Alarm state change', Detail: '{"x":1}' };

    // Act
    const output = await new EventBridgeClient(config()).send(new PutEventsCommand({ Entries: [entry] }));

    // Assess
    const [request] = stub.requests;
    expect(request!.headers).toMatchObject({ 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' });
    expect(signedHeaders('events')).toBe('content-type;host;x-amz-date;x-amz-security-token;x-amz-target');
    expect(JSON.parse(request!.body.toString())).toEqual({ Entries: [entry] });
    expect(output).toMatchObject({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
  });

  it('reads GetSecretValue with its binary and date members as the SDK returns them', async () => {
    // Prepare
    stub.answer = () => ({ body: { ARN: 'arn', SecretString: 's3cret', SecretBinary: Buffer.from([1, 2, 255]).toString('base64'), CreatedDate: 1764417600 } });

    // Act
    const output = await new SecretsManagerClient(config()).send<{ SecretString: string; SecretBinary: Uint8Array; CreatedDate: Date }>(new GetSecretValueCommand({ SecretId: 'arn' }));

    // Assess
    expect(stub.requests[0]!.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(signedHeaders('secretsmanager')).toBe('content-type;host;x-amz-date;x-amz-security-token;x-amz-target');
    expect(output.SecretString).toBe('s3cret');
    expect([...output.SecretBinary]).toEqual([1, 2, 255]);
    expect(output.CreatedDate).toEqual(new Date(1764417600000));
  });
});

describe('lean Timestream clients', () => {
  it('discovers the cell with DescribeEndpoints, caches it, and discovers again when the cell moved', async () => {
    // Prepare: requests go out to the real host names, and are answered locally.
    const seen: string[] = [];
    const local = keepAliveTransport();
    let cell = 'ingest-cell1.timestream.us-east-1.amazonaws.com';
    stub.answer = (request, index) => {
      const target = String(request.headers['x-amz-target']);
      if (target.endsWith('DescribeEndpoints')) return { body: { Endpoints: [{ Address: cell, CachePeriodInMinutes: 1440 }] } };
      if (index === 3) {
        cell = 'ingest-cell2.timestream.us-east-1.amazonaws.com';
        return { status: 421, body: { __type: 'com.amazonaws.timestream.v20181101#InvalidEndpointException', message: 'moved' } };
      }
      return { body: { RecordsIngested: { Total: 1 } } };
    };
    const client = new TimestreamWriteClient({
      region: 'us-east-1',
      credentials: TEST_CREDENTIALS,
      transport: (request) => {
        seen.push(`${request.headers.host} ${request.headers['x-amz-target']}`);
        return local({ ...request, url: new URL(request.url.pathname, stub.url) });
      },
    });
    const write = () => client.send(new WriteRecordsCommand({ DatabaseName: 'iot', TableName: 't', Records: [] }));

    // Act
    await write();
    await write();
    await write();

    // Assess
    expect(seen).toEqual([
      'ingest.timestream.us-east-1.amazonaws.com Timestream_20181101.DescribeEndpoints',
      'ingest-cell1.timestream.us-east-1.amazonaws.com Timestream_20181101.WriteRecords',
      'ingest-cell1.timestream.us-east-1.amazonaws.com Timestream_20181101.WriteRecords',
      'ingest-cell1.timestream.us-east-1.amazonaws.com Timestream_20181101.WriteRecords',
      'ingest.timestream.us-east-1.amazonaws.com Timestream_20181101.DescribeEndpoints',
      'ingest-cell2.timestream.us-east-1.amazonaws.com Timestream_20181101.WriteRecords',
    ]);
    expect(authorizationPattern('timestream').test(String(stub.requests[1]!.headers.authorization))).toBe(true);
  });
});
