/**
 * What the Lambda bundles load in place of `@aws-sdk/client-sns`: Publish over SNS's query
 * protocol (a form-encoded `POST /`, an XML answer), the only SNS call the functions make.
 */
import { header, LeanClient, type LeanClientConfig } from './aws-client.js';
import { escapeRfc3986 } from './request-signer.js';
import { commandClass, type LeanCommand } from './aws-json-protocol.js';
import type { HttpResponse } from './http-transport.js';

const unescapeXml = (text: string) =>
  text.replace(/&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-fA-F]+));/g, (_, name: string, dec?: string, hex?: string) =>
    dec ? String.fromCodePoint(Number(dec)) : hex ? String.fromCodePoint(parseInt(hex, 16)) : ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' } as Record<string, string>)[name]!,
  );

/** The text of the first `<tag>` in `xml`. */
const element = (xml: string, tag: string): string | undefined => {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return match ? unescapeXml(match[1]!) : undefined;
};

/** Reads a query-protocol error answer (`<ErrorResponse><Error><Code>`). */
export function parseQueryError(response: HttpResponse): { code: string; message: string; fields?: Record<string, unknown> } {
  const xml = response.body.toString('utf8');
  const code = element(xml, 'Code') ?? `Http${response.status}Error`;
  return { code, message: element(xml, 'Message') ?? `${code} (HTTP ${response.status})`, fields: { Type: element(xml, 'Type') } };
}

const SNS = {
  signingName: 'sns',
  host: (region: string) => `sns.${region}.amazonaws.com`,
  endpointEnv: 'SNS',
  parseError: parseQueryError,
};

type MessageAttribute = { DataType: string; StringValue?: string; BinaryValue?: Uint8Array };

/** Publish's input as form fields, named as the query protocol flattens them. */
function publishForm(input: Record<string, unknown>): Array<[string, string]> {
  const form: Array<[string, string]> = [
    ['Action', 'Publish'],
    ['Version', '2010-03-31'],
  ];
  for (const key of ['TopicArn', 'TargetArn', 'PhoneNumber', 'Message', 'Subject', 'MessageStructure', 'MessageDeduplicationId', 'MessageGroupId']) {
    if (input[key] !== undefined) form.push([key, String(input[key])]);
  }
  const attributes = Object.entries((input.MessageAttributes ?? {}) as Record<string, MessageAttribute>);
  attributes.forEach(([name, value], index) => {
    const prefix = `MessageAttributes.entry.${index + 1}`;
    form.push([`${prefix}.Name`, name], [`${prefix}.Value.DataType`, value.DataType]);
    if (value.StringValue !== undefined) form.push([`${prefix}.Value.StringValue`, value.StringValue]);
    if (value.BinaryValue !== undefined) form.push([`${prefix}.Value.BinaryValue`, Buffer.from(value.BinaryValue).toString('base64')]);
  });
  return form;
}

/** The form encoding the SDK uses for the query protocol (RFC 3986, space as %20). */
const formEncode = (fields: Array<[string, string]>) => fields.map(([k, v]) => `${escapeRfc3986(k)}=${escapeRfc3986(v)}`).join('&');

/** SNS's client (Publish). */
export class SNSClient extends LeanClient {
  constructor(config: LeanClientConfig = {}) {
    super(SNS, config);
  }

  /** Sends one operation; its answer as the SDK returns it. */
  async send<O = Record<string, unknown>>(command: LeanCommand<unknown>): Promise<O> {
    if (command.operation !== 'Publish') throw new Error(`The lean SNS client has no ${command.operation}`);
    const { response, $metadata } = await this.core.request({
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: formEncode(publishForm(command.input as Record<string, unknown>)),
    });
    const xml = response.body.toString('utf8');
    const messageId = element(xml, 'MessageId');
    const sequenceNumber = element(xml, 'SequenceNumber');
    const requestId = element(xml, 'RequestId') ?? header(response, 'x-amzn-requestid');
    return { ...(messageId && { MessageId: messageId }), ...(sequenceNumber && { SequenceNumber: sequenceNumber }), $metadata: { ...$metadata, ...(requestId && { requestId }) } } as O;
  }
}

export const PublishCommand = commandClass('Publish');
