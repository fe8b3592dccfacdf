/**
 * What the Lambda bundles load in place of `@aws-sdk/lib-dynamodb`: the document client over the
 * lean DynamoDBClient. Each command marshalls the members of its input that hold items, keys or
 * expression values (with `@aws-sdk/util-dynamodb`, the SDK's own converter) and unmarshalls those
 * of its answer, as lib-dynamodb does for these members. The legacy parameters (Expected,
 * AttributeUpdates, KeyConditions, QueryFilter, ScanFilter) are not translated: the platform's
 * code uses expressions only.
 */
import { marshall, unmarshall, type marshallOptions, type unmarshallOptions } from '@aws-sdk/util-dynamodb';
import type { LeanCommand } from './aws-json-protocol.js';
import type { DynamoDBClient } from './dynamodb.js';

type Item = Record<string, unknown>;
type Wire = Record<string, unknown>;

/** The options lib-dynamodb's `from` takes. */
export interface TranslateConfig {
  readonly marshallOptions?: marshallOptions;
  readonly unmarshallOptions?: unmarshallOptions;
}

interface Translation {
  readonly toWire: (input: Item, m: (item: Item) => Wire) => Wire;
  readonly fromWire: (output: Wire, u: (item: Wire) => Item) => Item;
}

const mapValues = <T, R>(record: Record<string, T> | undefined, f: (value: T) => R): Record<string, R> | undefined =>
  record && Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value)]));

/** Replaces the named members with f(member) where present. */
const convert = (object: Wire, keys: readonly string[], f: (value: never) => unknown): Wire => {
  const out: Wire = { ...object };
  for (const key of keys) if (out[key] !== undefined) out[key] = f(out[key] as never);
  return out;
};

const ITEM_MEMBERS = ['Key', 'Item', 'ExpressionAttributeValues', 'ExclusiveStartKey'] as const;
const singleItem: Translation = {
  toWire: (input, m) => convert(input, ITEM_MEMBERS, m),
  fromWire: (output, u) => convert(output, ['Item', 'Attributes', 'LastEvaluatedKey'], u),
};
const manyItems: Translation = {
  toWire: (input, m) => convert(input, ITEM_MEMBERS, m),
  fromWire: (output, u) => ({ ...convert(output, ['LastEvaluatedKey'], u), ...(output.Items !== undefined && { Items: (output.Items as Wire[]).map(u) }) }),
};
const keysAndAttributes = (m: (item: Item) => Wire) => (request: Item) => convert(request, ['Keys'], (keys: Item[]) => keys.map(m));
const batchGet: Translation = {
  toWire: (input, m) => ({ ...input, RequestItems: mapValues(input.RequestItems as Record<string, Item>, keysAndAttributes(m)) }),
  fromWire: (output, u) => ({
    ...output,
    ...(output.Responses !== undefined && { Responses: mapValues(output.Responses as Record<string, Wire[]>, (items) => items.map(u)) }),
    ...(output.UnprocessedKeys !== undefined && { UnprocessedKeys: mapValues(output.UnprocessedKeys as Record<string, Wire>, keysAndAttributes(u as never)) }),
  }),
};
const writeRequest = (f: (item: never) => unknown) => (request: Item) => ({
  ...(request.PutRequest !== undefined && { PutRequest: convert(request.PutRequest as Item, ['Item'], f) }),
  ...(request.DeleteRequest !== undefined && { DeleteRequest: convert(request.DeleteRequest as Item, ['Key'], f) }),
});
const batchWrite: Translation = {
  toWire: (input, m) => ({ ...input, RequestItems: mapValues(input.RequestItems as Record<string, Item[]>, (requests) => requests.map(writeRequest(m as never))) }),
  fromWire: (output, u) => ({
    ...output,
    ...(output.UnprocessedItems !== undefined && { UnprocessedItems: mapValues(output.UnprocessedItems as Record<string, Item[]>, (requests) => requests.map(writeRequest(u as never))) }),
  }),
};
const transactWrite: Translation = {
  toWire: (input, m) => ({
    ...input,
    TransactItems: (input.TransactItems as Item[]).map((entry) => mapValues(entry, (operation) => convert(operation as Item, ITEM_MEMBERS, m))),
  }),
  fromWire: (output) => output,
};
const transactGet: Translation = {
  toWire: (input, m) => ({ ...input, TransactItems: (input.TransactItems as Item[]).map((entry) => mapValues(entry, (operation) => convert(operation as Item, ['Key'], m))) }),
  fromWire: (output, u) => ({ ...output, ...(output.Responses !== undefined && { Responses: (output.Responses as Wire[]).map((r) => convert(r, ['Item'], u)) }) }),
};

/** A document command: the low-level operation and how its members translate. */
class DocumentCommand<I extends Item = Item> {
  constructor(
    readonly input: I,
    readonly operation: string,
    readonly translation: Translation,
  ) {}
}

const documentCommand = (operation: string, translation: Translation) =>
  class extends DocumentCommand {
    constructor(input: Item) {
      super(input, operation, translation);
    }
  };

/** lib-dynamodb's DynamoDBDocumentClient: plain JavaScript values in, plain values out. */
export class DynamoDBDocumentClient {
  private readonly marshallItem: (item: Item) => Wire;
  private readonly unmarshallItem: (item: Wire) => Item;

  private constructor(
    private readonly client: DynamoDBClient,
    config: TranslateConfig = {},
  ) {
    this.marshallItem = (item) => marshall(item, config.marshallOptions) as Wire;
    this.unmarshallItem = (item) => unmarshall(item as never, config.unmarshallOptions);
  }

  /** The document client over `client`. */
  static from(client: DynamoDBClient, config?: TranslateConfig): DynamoDBDocumentClient {
    return new DynamoDBDocumentClient(client, config);
  }

  /** Sends a document command (or a low-level one, untranslated). */
  async send<O = Record<string, unknown>>(command: DocumentCommand | LeanCommand<unknown>): Promise<O> {
    if (!(command instanceof DocumentCommand)) return this.client.send<O>(command);
    const { translation } = command;
    const wire = translation.toWire(command.input, this.marshallItem);
    const output = await this.client.send<Wire>({ operation: command.operation, input: wire });
    const { $metadata } = output;
    return { ...translation.fromWire(output, this.unmarshallItem), $metadata } as O;
  }

  /** Destroys the underlying client, as lib-dynamodb's does. */
  destroy(): void {
    this.client.destroy();
  }
}

export const GetCommand = documentCommand('GetItem', singleItem);
export const PutCommand = documentCommand('PutItem', singleItem);
export const UpdateCommand = documentCommand('UpdateItem', singleItem);
export const DeleteCommand = documentCommand('DeleteItem', singleItem);
export const QueryCommand = documentCommand('Query', manyItems);
export const ScanCommand = documentCommand('Scan', manyItems);
export const BatchGetCommand = documentCommand('BatchGetItem', batchGet);
export const BatchWriteCommand = documentCommand('BatchWriteItem', batchWrite);
export const TransactWriteCommand = documentCommand('TransactWriteItems', transactWrite);
export const TransactGetCommand = documentCommand('TransactGetItems', transactGet);
