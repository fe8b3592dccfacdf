/**
 * What the Lambda bundles load in place of `@aws-sdk/client-sqs`: SQS over its JSON protocol
 * (`AmazonSQS.<Operation>`), sent to the queue URL's host unless an endpoint is configured, as
 * the SDK does, and with the SDK's check of the MD5 digests SQS returns for message bodies.
 */
import { createHash } from 'node:crypto';
import { LeanClient, type LeanClientConfig } from './aws-client.js';
import { callJson, commandClass, parseJsonError, type LeanCommand } from './aws-json-protocol.js';

const SQS = {
  signingName: 'sqs',
  host: (region: string) => `sqs.${region}.amazonaws.com`,
  endpointEnv: 'SQS',
  parseError: parseJsonError,
};

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

/** SQS answered a digest that does not match what was sent or received: the message was corrupted on the way. */
export class Md5MismatchError extends Error {
  override readonly name = 'Md5MismatchError';
}

type Entry = { Id?: string; MessageBody?: string };
type Received = { MessageId?: string; Body?: string; MD5OfBody?: string };

/** Checks the body digests of an answer, as the SDK's SQS middleware does. */
function checkDigests(operation: string, input: Record<string, unknown>, output: Record<string, unknown>): void {
  if (operation === 'SendMessage') {
    const digest = output.MD5OfMessageBody;
    if (typeof digest === 'string' && typeof input.MessageBody === 'string' && digest !== md5(input.MessageBody)) {
      throw new Md5MismatchError('InvalidChecksumError: the MD5 of the sent message body does not match the one SQS returned');
    }
  } else if (operation === 'SendMessageBatch') {
    const bodies = new Map(((input.Entries as Entry[] | undefined) ?? []).map((e) => [e.Id, e.MessageBody]));
    const bad = ((output.Successful as Array<{ Id?: string; MD5OfMessageBody?: string }> | undefined) ?? []).filter((entry) => {
      const body = bodies.get(entry.Id);
      return typeof body === 'string' && typeof entry.MD5OfMessageBody === 'string' && entry.MD5OfMessageBody !== md5(body);
    });
    if (bad.length > 0) throw new Md5MismatchError(`InvalidChecksumError: the MD5 of the message body of entries ${bad.map((e) => e.Id).join(', ')} does not match the one SQS returned`);
  } else if (operation === 'ReceiveMessage') {
    const bad = ((output.Messages as Received[] | undefined) ?? []).filter((m) => typeof m.Body === 'string' && typeof m.MD5OfBody === 'string' && m.MD5OfBody !== md5(m.Body));
    if (bad.length > 0) throw new Md5MismatchError(`InvalidChecksumError: the MD5 of messages ${bad.map((m) => m.MessageId).join(', ')} does not match their body`);
  }
}

/** SQS's client. */
export class SQSClient extends LeanClient {
  constructor(config: LeanClientConfig & { readonly md5?: boolean } = {}) {
    super(SQS, config);
    this.md5 = config.md5 ?? true;
  }

  /** Whether body digests are checked (the SDK's `md5` option). */
  private readonly md5: boolean;

  /** Sends one operation; its answer as the SDK returns it. */
  async send<O = Record<string, unknown>>(command: LeanCommand<unknown>): Promise<O> {
    const input = (command.input ?? {}) as Record<string, unknown>;
    // The queue URL names the queue's host; a configured endpoint (a local stand-in) wins.
    const origin = !this.core.customEndpoint && typeof input.QueueUrl === 'string' ? new URL(new URL(input.QueueUrl).origin) : undefined;
    const output = await callJson<Record<string, unknown>>(this.core, '1.0', `AmazonSQS.${command.operation}`, input, {}, origin);
    if (this.md5) checkDigests(command.operation, input, output);
    return output as O;
  }
}

export const ChangeMessageVisibilityCommand = commandClass('ChangeMessageVisibility');
export const DeleteMessageBatchCommand = commandClass('DeleteMessageBatch');
export const DeleteMessageCommand = commandClass('DeleteMessage');
export const GetQueueAttributesCommand = commandClass('GetQueueAttributes');
export const GetQueueUrlCommand = commandClass('GetQueueUrl');
export const ReceiveMessageCommand = commandClass('ReceiveMessage');
export const SendMessageBatchCommand = commandClass('SendMessageBatch');
export const SendMessageCommand = commandClass('SendMessage');
