/**
 * AlarmStore over the Alarms table (see ALARMS_TABLE for the item layout). Instances are
 * written only on transitions, each write conditional on the revision it replaces; without
 * transactions (dynalite has none) the history is appended by the table's stream consumer
 * from the transition every instance carries inline, so a transition is never recorded twice
 * and never lost once its instance write succeeded.
 */
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ALARM_SEVERITIES, type AlarmRule, type AlarmSeverity } from '../../alarms/alarm-rule.js';
import type { AlarmInstance, AlarmTransition } from '../../alarms/alarm-state.js';
import type { AlarmCursor, AlarmFilter, AlarmPage, AlarmStore, PendingRun } from '../../alarms/alarm-store.js';
import { ALARM_INSTANCE_KEY_PREFIX, ALARM_INSTANCE_SORT_PREFIX } from '../../contracts/alarms.js';
import { AlreadyExistsError, ConflictError, UnavailableError } from '../../domain/errors.js';
import { isConditionalCheckFailed, mapDynamoError } from './dynamo-errors.js';

const RULES_PK = 'RULE';
const LIST_PK = 'ALARM';
const SNOOZE_DUE = 'SNOOZE';
/** Most Query requests one filtered listing page may take before it returns what it has. */
const MAX_PAGE_QUERIES = 10;

const rulePk = (id: string) => `RULE#${id}`;
const versionSk = (version: number) => `V#${String(version).padStart(10, '0')}`;
const devicePk = (deviceId: string) => `${ALARM_INSTANCE_KEY_PREFIX}${deviceId}`;
const instanceSk = (ruleId: string) => `${ALARM_INSTANCE_SORT_PREFIX}${ruleId}`;
// Pending-run markers share the device's partition (one Query reads both) but carry none of the
// indexed attributes (ruleId, state, listPk, snoozeDue), so no index and no stream consumer sees them.
const pendingSk = (ruleId: string) => `PENDING#${ruleId}`;
const historyPk = (alarmId: string) => `HIST#${alarmId}`;
const historySk = (rev: number) => `R#${String(rev).padStart(10, '0')}`;

type Item = Record<string, unknown>;

/** The stored form of an instance: the instance plus its keys and sparse index attributes. */
export function instanceItem(instance: AlarmInstance): Item {
  return {
    pk: devicePk(instance.deviceId),
    sk: instanceSk(instance.ruleId),
    ...instance,
    listPk: LIST_PK,
    changedKey: `${instance.changedAt}#${instance.id}`,
    ...(instance.state === 'SNOOZE_DISABLED' && instance.snoozeUntil !== undefined && { snoozeDue: SNOOZE_DUE }),
  };
}

/** The instance inside a stored item (also what the stream consumer reads from NEW_IMAGE). */
export function fromInstanceItem(item: Item): AlarmInstance {
  const { pk: _pk, sk: _sk, listPk: _l, changedKey: _c, snoozeDue: _s, ...instance } = item;
  return instance as unknown as AlarmInstance;
}

/** Whether a stored item is an alarm instance (not a rule, version or history item). */
export function isInstanceItem(item: Item | undefined): boolean {
  return typeof item?.pk === 'string' && item.pk.startsWith(ALARM_INSTANCE_KEY_PREFIX) && typeof item.sk === 'string' && item.sk.startsWith(ALARM_INSTANCE_SORT_PREFIX);
}

const fromRuleItem = (item: Item): AlarmRule => {
  const { pk: _pk, sk: _sk, ...rule } = item;
  return rule as unknown as AlarmRule;
};

/** DynamoDB implementation of {@link AlarmStore}. */
export class DynamoDbAlarmStore implements AlarmStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async createRule(rule: AlarmRule): Promise<void> {
    try {
      await this.send(new PutCommand({ TableName: this.tableName, Item: { pk: RULES_PK, sk: rule.id, ...rule }, ConditionExpression: 'attribute_not_exists(pk)' }), 'create rule');
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new AlreadyExistsError(`Alarm rule ${rule.id} already exists`, { cause: error });
      throw error;
    }
    await this.putVersion(rule);
  }

  async updateRule(rule: AlarmRule, expectedVersion: number): Promise<void> {
    try {
      await this.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: RULES_PK, sk: rule.id, ...rule },
          ConditionExpression: 'attribute_exists(pk) AND #v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': expectedVersion },
        }),
        'update rule',
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new ConflictError(`Alarm rule ${rule.id} changed since version ${expectedVersion}, or was deleted`, undefined, { cause: error });
      throw error;
    }
    await this.putVersion(rule);
  }

  async getRule(id: string): Promise<AlarmRule | undefined> {
    const { Item } = await this.send(new GetCommand({ TableName: this.tableName, Key: { pk: RULES_PK, sk: id } }), 'get rule');
    return Item ? fromRuleItem(Item) : undefined;
  }

  async listRules(): Promise<AlarmRule[]> {
    const items = await this.queryAll({ TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': RULES_PK } }, 'list rules');
    return items.map(fromRuleItem);
  }

  async getRuleVersion(id: string, version: number): Promise<AlarmRule | undefined> {
    const { Item } = await this.send(new GetCommand({ TableName: this.tableName, Key: { pk: rulePk(id), sk: versionSk(version) } }), 'get rule version');
    return Item ? fromRuleItem(Item) : undefined;
  }

  async deleteRule(id: string): Promise<AlarmRule | undefined> {
    const { Attributes } = await this.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: RULES_PK, sk: id }, ReturnValues: 'ALL_OLD' }), 'delete rule');
    if (!Attributes) return undefined;
    // The rule's instances go with it; its versions and the alarms' history stay for the record.
    let cursor: AlarmCursor | undefined;
    do {
      const page = await this.ruleInstances(id, 25, cursor);
      if (page.items.length > 0) {
        await this.send(
          new BatchWriteCommand({
            RequestItems: { [this.tableName]: page.items.map((i) => ({ DeleteRequest: { Key: { pk: devicePk(i.deviceId), sk: instanceSk(i.ruleId) } } })) },
          }),
          'delete rule instances',
        );
      }
      cursor = page.cursor;
    } while (cursor);
    return fromRuleItem(Attributes);
  }

  async getInstance(ruleId: string, deviceId: string, consistent = false): Promise<AlarmInstance | undefined> {
    const { Item } = await this.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: devicePk(deviceId), sk: instanceSk(ruleId) }, ConsistentRead: consistent }),
      'get alarm',
    );
    return Item ? fromInstanceItem(Item) : undefined;
  }

  async deviceInstances(deviceId: string, consistent = false): Promise<AlarmInstance[]> {
    const items = await this.queryAll(
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :alarm)',
        ExpressionAttributeValues: { ':pk': devicePk(deviceId), ':alarm': ALARM_INSTANCE_SORT_PREFIX },
        ConsistentRead: consistent,
      },
      'read device alarms',
    );
    return items.map(fromInstanceItem);
  }

  async deviceAlarmState(deviceId: string): Promise<{ instances: AlarmInstance[]; pending: PendingRun[] }> {
    const items = await this.queryAll(
      { TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': devicePk(deviceId) } },
      'read device alarm state',
    );
    const pending = items
      .filter((i) => String(i.sk).startsWith('PENDING#'))
      .map((i) => ({ ruleId: String(i.sk).slice('PENDING#'.length), ruleVersion: Number(i.pendingVersion), since: Number(i.since), at: Number(i.at) }));
    return { instances: items.filter((i) => isInstanceItem(i)).map(fromInstanceItem), pending };
  }

  async putPending(deviceId: string, run: PendingRun): Promise<void> {
    await this.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: devicePk(deviceId), sk: pendingSk(run.ruleId), pendingVersion: run.ruleVersion, since: run.since, at: run.at } }),
      'record a pending run',
    );
  }

  async deletePending(deviceId: string, ruleId: string): Promise<void> {
    await this.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: devicePk(deviceId), sk: pendingSk(ruleId) } }), 'forget a pending run');
  }

  async ruleInstances(ruleId: string, limit: number, cursor?: AlarmCursor): Promise<AlarmPage<AlarmInstance>> {
    const page = await this.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'byRule',
        KeyConditionExpression: 'ruleId = :r',
        ExpressionAttributeValues: { ':r': ruleId },
        Limit: limit,
        ...(cursor && { ExclusiveStartKey: cursor }),
      }),
      'read rule alarms',
    );
    return { items: (page.Items ?? []).map(fromInstanceItem), ...(page.LastEvaluatedKey && { cursor: page.LastEvaluatedKey as AlarmCursor }) };
  }

  async writeTransition(next: AlarmInstance): Promise<boolean> {
    try {
      await this.send(
        new PutCommand({
          TableName: this.tableName,
          Item: instanceItem(next),
          ConditionExpression: next.rev === 1 ? 'attribute_not_exists(pk)' : 'rev = :prev',
          ...(next.rev !== 1 && { ExpressionAttributeValues: { ':prev': next.rev - 1 } }),
        }),
        'write alarm transition',
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async listAlarms(filter: AlarmFilter, limit: number, cursor?: AlarmCursor): Promise<AlarmPage<AlarmInstance>> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    let key: Pick<QueryCommandInput, 'IndexName' | 'KeyConditionExpression'> & { ScanIndexForward?: boolean };
    const rest: Array<[keyof AlarmFilter, string]> = [];
    // The most selective key path first; the other filters become a FilterExpression.
    if (filter.deviceId) {
      key = { KeyConditionExpression: 'pk = :pk AND begins_with(sk, :alarm)' };
      values[':pk'] = devicePk(filter.deviceId);
      values[':alarm'] = 'ALARM#';
      rest.push(['ruleId', 'ruleId'], ['state', 'state'], ['severity', 'severity']);
    } else if (filter.ruleId) {
      key = { IndexName: 'byRule', KeyConditionExpression: 'ruleId = :ruleId' };
      values[':ruleId'] = filter.ruleId;
      rest.push(['state', 'state'], ['severity', 'severity']);
    } else if (filter.state) {
      key = { IndexName: 'byState', KeyConditionExpression: '#state = :state', ScanIndexForward: false };
      names['#state'] = 'state';
      values[':state'] = filter.state;
      rest.push(['severity', 'severity']);
    } else {
      key = { IndexName: 'byChanged', KeyConditionExpression: 'listPk = :list', ScanIndexForward: false };
      values[':list'] = LIST_PK;
      rest.push(['severity', 'severity']);
    }
    const conditions: string[] = [];
    for (const [field, attribute] of rest) {
      const value = filter[field];
      if (value === undefined) continue;
      names[`#f_${attribute}`] = attribute;
      values[`:f_${attribute}`] = value;
      conditions.push(`#f_${attribute} = :f_${attribute}`);
    }
    const items: AlarmInstance[] = [];
    let start = cursor;
    // A filtered Query may return fewer than asked; keep reading (bounded) so pages are rarely short.
    for (let round = 0; round < MAX_PAGE_QUERIES; round += 1) {
      const page = await this.send(
        new QueryCommand({
          TableName: this.tableName,
          ...key,
          ...(conditions.length > 0 && { FilterExpression: conditions.join(' AND ') }),
          ...(Object.keys(names).length > 0 && { ExpressionAttributeNames: names }),
          ExpressionAttributeValues: values,
          Limit: limit - items.length,
          ...(start && { ExclusiveStartKey: start }),
        }),
        'list alarms',
      );
      items.push(...(page.Items ?? []).map(fromInstanceItem));
      start = page.LastEvaluatedKey as AlarmCursor | undefined;
      if (!start || items.length >= limit) break;
    }
    return { items, ...(start && { cursor: start }) };
  }

  async endedSnoozes(now: number, limit: number): Promise<Array<{ ruleId: string; deviceId: string }>> {
    const page = await this.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'bySnoozeEnd',
        KeyConditionExpression: 'snoozeDue = :due AND snoozeUntil <= :now',
        ExpressionAttributeValues: { ':due': SNOOZE_DUE, ':now': now },
        Limit: limit,
      }),
      'read ended snoozes',
    );
    return (page.Items ?? []).map((item) => ({ ruleId: String(item.sk).slice('ALARM#'.length), deviceId: String(item.pk).slice(ALARM_INSTANCE_KEY_PREFIX.length) }));
  }

  async activeBySeverity(): Promise<Record<AlarmSeverity, number>> {
    const counts = Object.fromEntries(ALARM_SEVERITIES.map((s) => [s, 0])) as Record<AlarmSeverity, number>;
    // Reads the ACTIVE alarms only (projected to their severity): bounded by how many are active.
    const items = await this.queryAll(
      {
        TableName: this.tableName,
        IndexName: 'byState',
        KeyConditionExpression: '#state = :active',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':active': 'ACTIVE' },
        ProjectionExpression: 'severity',
      },
      'count active alarms',
    );
    for (const item of items) if (typeof item.severity === 'string' && item.severity in counts) counts[item.severity as AlarmSeverity] += 1;
    return counts;
  }

  async appendHistory(transition: AlarmTransition): Promise<void> {
    // The same rev is the same transition (the stream may deliver it again): an overwrite is harmless.
    // Nested, so its ruleId/deviceId never land the item in the byRule index.
    await this.send(new PutCommand({ TableName: this.tableName, Item: { pk: historyPk(transition.alarmId), sk: historySk(transition.rev), transition } }), 'append alarm history');
  }

  async history(alarmId: string, limit: number, cursor?: AlarmCursor): Promise<AlarmPage<AlarmTransition>> {
    const page = await this.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': historyPk(alarmId) },
        ScanIndexForward: false,
        Limit: limit,
        ...(cursor && { ExclusiveStartKey: cursor }),
      }),
      'read alarm history',
    );
    return {
      items: (page.Items ?? []).map((item) => item.transition as AlarmTransition),
      ...(page.LastEvaluatedKey && { cursor: page.LastEvaluatedKey as AlarmCursor }),
    };
  }

  private async putVersion(rule: AlarmRule): Promise<void> {
    await this.send(new PutCommand({ TableName: this.tableName, Item: { pk: rulePk(rule.id), sk: versionSk(rule.version), ...rule } }), 'record rule version');
  }

  private async queryAll(input: QueryCommandInput, action: string): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.send(new QueryCommand({ ...input, ...(start && { ExclusiveStartKey: start }) }), action);
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  private async send(command: object, action: string): Promise<{ Items?: Item[]; Item?: Item; Attributes?: Item; LastEvaluatedKey?: Record<string, unknown> }> {
    try {
      return (await this.doc.send(command as never)) as never;
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw error;
      const mapped = mapDynamoError(error, action);
      if (mapped instanceof UnavailableError) throw mapped;
      throw new UnavailableError(`DynamoDB failed (${action}): ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
  }
}
