/**
 * The device registry on DynamoDB (lib-dynamodb). Listing queries a GSI ordered by
 * createdKey (KEYS_ONLY / INCLUDE projections keep index writes small), then reads the
 * page's items with one BatchGetItem, keeping the index order. No Scan, no transactions.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Device } from '../../domain/device.js';
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import type { DeviceChanges, DevicePage, DeviceRepository, ListDevicesQuery, PageCursor } from '../../ports/device-repository.js';
import { batchGet } from './batch-get.js';
import { LIST_PK, fromDeviceItem, isDeviceItem, toDeviceItem } from './device-item.js';
import { isConditionalCheckFailed, mapDynamoError } from './dynamo-errors.js';

/** Index names, as defined in tables.ts (DEVICES_TABLE). */
const BY_CREATED = 'byCreated';
const BY_STATUS = 'byStatus';
const BY_TYPE = 'byType';

/**
 * Most index entries one status+type listing call evaluates. The pair has no index of its
 * own, so the byStatus query filters on type; this bounds the cost of one call. A page can
 * then come back short (even empty) with a next token: the caller simply continues.
 */
export const MAX_FILTERED_EVALUATIONS = 1000;

interface IndexPlan {
  readonly indexName: string;
  readonly partitionAttribute: string;
  readonly partitionValue: string;
  readonly typeFilter?: string;
}

/** Options for {@link DynamoDbDeviceRepository}. */
export interface DynamoDbDeviceRepositoryOptions {
  /** @default MAX_FILTERED_EVALUATIONS */
  readonly maxFilteredEvaluations?: number;
}

/** DeviceRepository over the Devices table (see DEVICES_TABLE in tables.ts). */
export class DynamoDbDeviceRepository implements DeviceRepository {
  private readonly maxFilteredEvaluations: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoDbDeviceRepositoryOptions = {},
  ) {
    this.maxFilteredEvaluations = options.maxFilteredEvaluations ?? MAX_FILTERED_EVALUATIONS;
  }

  /** Conditional put: never overwrites (AlreadyExistsError). */
  async create(device: Device): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toDeviceItem(device),
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new AlreadyExistsError(`device ${device.id} already exists`, { cause: error });
      throw mapDynamoError(error, 'create device');
    }
  }

  /** Strongly consistent read, so a get right after a write sees it. */
  async get(id: string): Promise<Device | undefined> {
    try {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
      return Item && isDeviceItem(Item) ? fromDeviceItem(Item) : undefined;
    } catch (error) {
      throw mapDynamoError(error, 'get device');
    }
  }

  /** A page in creation order through the index matching the filters. */
  async list(query: ListDevicesQuery): Promise<DevicePage> {
    const plan = this.plan(query);
    const start = query.after && checkCursor(query.after, plan.partitionAttribute);
    try {
      const { entries, exhausted, lastEvaluated } = await this.queryIndex(plan, query.limit, start);
      const page = entries.slice(0, query.limit);
      // One entry past the page tells whether another page exists, so the last page has no token.
      const next =
        entries.length > query.limit ? cursorOf(page.at(-1)!, plan.partitionAttribute) : exhausted ? undefined : lastEvaluated;
      const items = await this.readItems(page.map((e) => e.id as string));
      const devices = items.filter(
        (d) =>
          (query.status === undefined || d.status === query.status) && (query.type === undefined || d.type === query.type),
      );
      return { items: devices, ...(next && { next }) };
    } catch (error) {
      throw mapDynamoError(error, 'list devices');
    }
  }

  /** One conditional UpdateItem: sets the changed fields, updatedAt and version + 1. */
  async update(id: string, changes: DeviceChanges, updatedAt: string, expectedVersion?: number): Promise<Device> {
    const names: Record<string, string> = { '#id': 'id', '#version': 'version', '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = { ':one': 1, ':updatedAt': updatedAt };
    const sets = ['#updatedAt = :updatedAt', '#version = #version + :one'];
    for (const field of ['name', 'type', 'status', 'metadata'] as const) {
      if (changes[field] === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = field === 'metadata' ? { ...changes.metadata } : changes[field];
      sets.push(`#${field} = :${field}`);
    }
    const condition = this.versionCondition(values, expectedVersion);
    return this.versionedWrite(id, expectedVersion, 'update device', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
  }

  /** Conditional DeleteItem returning the deleted device. */
  async delete(id: string, expectedVersion?: number): Promise<Device> {
    const values: Record<string, unknown> = {};
    const condition = this.versionCondition(values, expectedVersion);
    return this.versionedWrite(id, expectedVersion, 'delete device', () =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { id },
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#id': 'id', ...(expectedVersion !== undefined && { '#version': 'version' }) },
          ...(Object.keys(values).length > 0 && { ExpressionAttributeValues: values }),
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
  }

  /** Runs a write guarded by {@link versionCondition}; the device it returns, or NotFoundError / ConflictError when the condition fails. */
  private async versionedWrite(
    id: string,
    expectedVersion: number | undefined,
    action: string,
    write: () => Promise<{ Attributes?: Record<string, unknown> }>,
  ): Promise<Device> {
    try {
      const { Attributes } = await write();
      return fromDeviceItem(Attributes as Record<string, unknown>);
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw await this.conditionFailure(id, expectedVersion, error);
      throw mapDynamoError(error, action);
    }
  }

  private versionCondition(values: Record<string, unknown>, expectedVersion: number | undefined): string {
    if (expectedVersion === undefined) return 'attribute_exists(#id)';
    values[':expected'] = expectedVersion;
    return 'attribute_exists(#id) AND #version = :expected';
  }

  /**
   * NotFoundError or ConflictError (with the current version) for a failed condition. DynamoDB
   * returns the old item (ReturnValuesOnConditionCheckFailure); dynalite does not, so fall
   * back to a consistent read.
   */
  private async conditionFailure(id: string, expectedVersion: number | undefined, cause: unknown): Promise<Error> {
    // The exception carries the item in wire format: lib-dynamodb only unmarshalls responses.
    const returned = (cause as { Item?: Record<string, AttributeValue> }).Item;
    const current = returned
      ? unmarshall(returned).version
      : (await this.get(id).catch(() => undefined))?.version;
    if (typeof current !== 'number') return new NotFoundError(`device ${id} does not exist`, { cause });
    return new ConflictError(
      `device ${id} has version ${current}, not the expected ${expectedVersion}; read it again and retry`,
      current,
      { cause },
    );
  }

  private plan(query: ListDevicesQuery): IndexPlan {
    if (query.status !== undefined) {
      return {
        indexName: BY_STATUS,
        partitionAttribute: 'status',
        partitionValue: query.status,
        ...(query.type !== undefined && { typeFilter: query.type }),
      };
    }
    if (query.type !== undefined) return { indexName: BY_TYPE, partitionAttribute: 'type', partitionValue: query.type };
    return { indexName: BY_CREATED, partitionAttribute: 'listPk', partitionValue: LIST_PK };
  }

  /**
   * Up to limit + 1 index entries after `start`. Without a type filter that is one Query;
   * with one, Queries continue until enough entries match or the evaluation budget is spent.
   */
  private async queryIndex(plan: IndexPlan, limit: number, start: PageCursor | undefined) {
    const wanted = limit + 1;
    const entries: Record<string, unknown>[] = [];
    let budget = plan.typeFilter === undefined ? wanted : Math.max(this.maxFilteredEvaluations, wanted);
    let exclusiveStartKey: Record<string, unknown> | undefined = start && { ...start };
    for (;;) {
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: plan.indexName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': plan.partitionAttribute, ...(plan.typeFilter !== undefined && { '#type': 'type' }) },
          ExpressionAttributeValues: { ':pk': plan.partitionValue, ...(plan.typeFilter !== undefined && { ':type': plan.typeFilter }) },
          ...(plan.typeFilter !== undefined && { FilterExpression: '#type = :type' }),
          Limit: plan.typeFilter === undefined ? wanted : budget,
          ...(exclusiveStartKey && { ExclusiveStartKey: exclusiveStartKey }),
        }),
      );
      entries.push(...(result.Items ?? []));
      budget -= result.ScannedCount ?? result.Count ?? 0;
      exclusiveStartKey = result.LastEvaluatedKey;
      if (!exclusiveStartKey || entries.length >= wanted || budget <= 0) {
        return { entries, exhausted: !exclusiveStartKey, lastEvaluated: exclusiveStartKey && toCursor(exclusiveStartKey) };
      }
    }
  }

  /** The devices with these ids in this order; ids deleted since the index read are left out. */
  private async readItems(ids: string[]): Promise<Device[]> {
    const items = await batchGet(this.doc, this.tableName, ids.map((id) => ({ id })));
    const byId = new Map(items.filter(isDeviceItem).map((item) => [item.id, item]));
    return ids.flatMap((id) => {
      const item = byId.get(id);
      return item ? [fromDeviceItem(item)] : [];
    });
  }
}

/** The ExclusiveStartKey that resumes a query right after `entry`: table key plus index key. */
function cursorOf(entry: Record<string, unknown>, partitionAttribute: string): PageCursor {
  return toCursor({ id: entry.id, [partitionAttribute]: entry[partitionAttribute], createdKey: entry.createdKey });
}

function toCursor(key: Record<string, unknown>): PageCursor {
  const cursor: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(key)) {
    if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`Unexpected key attribute ${name} in a page cursor`);
    cursor[name] = value;
  }
  return cursor;
}

/** A cursor must be exactly the key of the index being queried; anything else is refused. */
function checkCursor(cursor: PageCursor, partitionAttribute: string): PageCursor {
  const expected = ['createdKey', 'id', partitionAttribute].sort();
  const keys = Object.keys(cursor).sort();
  if (keys.length !== expected.length || keys.some((k, i) => k !== expected[i] || typeof cursor[k] !== 'string')) {
    throw new ValidationError('pageToken does not belong to this listing; start the listing again', 'pageToken');
  }
  return cursor;
}
