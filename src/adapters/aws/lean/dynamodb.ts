/**
 * What the Lambda bundles load in place of `@aws-sdk/client-dynamodb` (PlatformFunction aliases
 * it at bundle time): `DynamoDBClient.send(new XCommand(input))` over the JSON 1.0 protocol,
 * with the SDK's wire format (AttributeValue maps, binary B/BS as Uint8Array, base64 on the
 * wire), its error names and `$metadata`. Every operation of the API has its command class; the
 * client itself knows none of them.
 */
import { LeanClient, type LeanClientConfig } from './aws-client.js';
import type { HttpResponse } from './http-transport.js';
import { base64Blob, blobsAsBase64, callJson, commandClass, parseJsonError, type LeanCommand } from './aws-json-protocol.js';

const DYNAMODB = {
  signingName: 'dynamodb',
  host: (region: string) => `dynamodb.${region}.amazonaws.com`,
  endpointEnv: 'DYNAMODB',
  parseError: (response: HttpResponse) => parseJsonError(response, parseDynamoDbJson),
};

/**
 * Binary attribute values (B, BS) as Uint8Array. Only an AttributeValue has a member named B or BS
 * holding a string (list), and answers without one skip the reviver's cost.
 */
function binaryAttributes(this: unknown, key: string, value: unknown): unknown {
  if (key === 'B' && typeof value === 'string') return base64Blob(value);
  if (key === 'BS' && Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((v: string) => base64Blob(v));
  return value;
}

/** DynamoDB's client. */
export class DynamoDBClient extends LeanClient {
  constructor(config: LeanClientConfig = {}) {
    super(DYNAMODB, config);
  }

  /** Sends one operation; its answer as the SDK returns it. */
  async send<O = Record<string, unknown>>(command: LeanCommand<unknown>): Promise<O> {
    const output = await callJson<Record<string, unknown>>(this.core, '1.0', `DynamoDB_20120810.${command.operation}`, command.input, {
      replacer: blobsAsBase64,
      parse: parseDynamoDbJson,
    });
    return output as O;
  }
}

/** Parses an answer's text, binary attribute values as Uint8Array. */
function parseDynamoDbJson(text: string): unknown {
  return text.includes('"B') ? JSON.parse(text, binaryAttributes) : JSON.parse(text);
}

export const BatchExecuteStatementCommand = commandClass('BatchExecuteStatement');
export const BatchGetItemCommand = commandClass('BatchGetItem');
export const BatchWriteItemCommand = commandClass('BatchWriteItem');
export const CreateTableCommand = commandClass('CreateTable');
export const DeleteItemCommand = commandClass('DeleteItem');
export const DeleteTableCommand = commandClass('DeleteTable');
export const DescribeTableCommand = commandClass('DescribeTable');
export const DescribeTimeToLiveCommand = commandClass('DescribeTimeToLive');
export const ExecuteStatementCommand = commandClass('ExecuteStatement');
export const ExecuteTransactionCommand = commandClass('ExecuteTransaction');
export const GetItemCommand = commandClass('GetItem');
export const ListTablesCommand = commandClass('ListTables');
export const PutItemCommand = commandClass('PutItem');
export const QueryCommand = commandClass('Query');
export const ScanCommand = commandClass('Scan');
export const TransactGetItemsCommand = commandClass('TransactGetItems');
export const TransactWriteItemsCommand = commandClass('TransactWriteItems');
export const UpdateItemCommand = commandClass('UpdateItem');
export const UpdateTableCommand = commandClass('UpdateTable');
export const UpdateTimeToLiveCommand = commandClass('UpdateTimeToLive');
