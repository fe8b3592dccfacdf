/**
 * Commands on DynamoDB. Every state change is one conditional UpdateItem (no transactions), so
 * a transition is recorded once however many writers race it. Listing and the queue and
 * deadline reads go through sparse indexes; never a scan.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { allowedPredecessors, isTerminal, nextCheckAt, type Command, type LateAnswer } from '../../commands/command.js';
import { ValidationError } from '../../domain/errors.js';
import type { CommandPage, CommandRepository, CommandTransition, ListCommandsQuery, QueueCursor } from '../../ports/command-repository.js';
import type { PageCursor } from '../../ports/device-repository.js';
import { batchGet } from './batch-get.js';
import { DEADLINE_PK, deadlineKeyOf, fromCommandItem, isCommandItem, toCommandItem } from './command-item.js';
import { isConditionalCheckFailed, mapDynamoError } from './dynamo-errors.js';

/** CommandRepository over the Commands table (COMMANDS_TABLE in tables.ts). */
export class DynamoDbCommandRepository implements CommandRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(command: Command, requestHash: string): Promise<{ created: boolean; command: Command; requestHash?: string }> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: toCommandItem(command, requestHash), ConditionExpression: 'attribute_not_exists(id)' }));
      return { created: true, command };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw mapDynamoError(error, 'create command');
    }
    const item = await this.getItem(command.id);
    if (!item) throw new Error(`command ${command.id} exists and cannot be read`);
    return { created: false, command: fromCommandItem(item), requestHash: String(item.requestHash) };
  }

  async get(id: string): Promise<Command | undefined> {
    const item = await this.getItem(id);
    return item ? fromCommandItem(item) : undefined;
  }

  async list(query: ListCommandsQuery): Promise<CommandPage> {
    const after = query.after ? checkCursor(query.after, query.deviceId) : undefined;
    try {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'byDevice',
          KeyConditionExpression: 'deviceId = :d',
          ...(query.status && { FilterExpression: '#s = :s' }),
          ExpressionAttributeValues: { ':d': query.deviceId, ...(query.status && { ':s': query.status }) },
          ...(query.status && { ExpressionAttributeNames: { '#s': 'status' } }),
          ScanIndexForward: false,
          Limit: query.limit,
          ...(after && { ExclusiveStartKey: after }),
        }),
      );
      const ids = (page.Items ?? []).map((item) => String(item.id));
      const items = await batchGet(this.doc, this.tableName, ids.map((id) => ({ id })), { consistentRead: true });
      const byId = new Map(items.filter(isCommandItem).map((item) => [item.id, fromCommandItem(item)]));
      const commands = ids.flatMap((id) => {
        const command = byId.get(id);
        // The index is eventually consistent: a status filter is applied again on the item itself.
        return command && (!query.status || command.status === query.status) ? [command] : [];
      });
      const last = page.LastEvaluatedKey;
      return {
        items: commands,
        ...(last && { next: { id: String(last.id), deviceId: String(last.deviceId), createdKey: String(last.createdKey) } }),
      };
    } catch (error) {
      throw mapDynamoError(error, 'list commands');
    }
  }

  async queued(deviceId: string, limit: number, after?: QueueCursor): Promise<string[]> {
    try {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'byQueue',
          KeyConditionExpression: 'queuedFor = :d',
          ExpressionAttributeValues: { ':d': deviceId },
          ScanIndexForward: true,
          Limit: limit,
          ...(after && { ExclusiveStartKey: { id: after.id, queuedFor: deviceId, createdKey: `${after.createdAt}#${after.id}` } }),
        }),
      );
      return (page.Items ?? []).map((item) => String(item.id));
    } catch (error) {
      throw mapDynamoError(error, 'read the command queue');
    }
  }

  async claimForDelivery(id: string, sentAt: string): Promise<Command | undefined> {
    const current = await this.get(id);
    if (!current || current.status !== 'CREATED' || current.sentAt) return undefined;
    const deadlineAt = new Date(Date.parse(sentAt) + current.timeoutSeconds * 1000).toISOString();
    // queuedFor stays until the device answers: a subscription re-publishes what it may have missed.
    return this.update(
      id,
      'SET sentAt = :sent, deadlineAt = :deadline, deadlineKey = :deadlineKey, version = version + :one REMOVE redriveAt',
      'attribute_exists(queuedFor) AND attribute_not_exists(sentAt) AND #s = :created',
      { ':sent': sentAt, ':deadline': deadlineAt, ':deadlineKey': deadlineKeyOf(deadlineAt, id), ':one': 1, ':created': 'CREATED' },
      { '#s': 'status' },
      'claim a command',
    );
  }

  async unclaim(id: string, sentAt: string, redriveAt: string): Promise<Command | undefined> {
    const current = await this.get(id);
    if (!current) return undefined;
    const due = nextCheckAt({ deadlineAt: current.expiresAt, redriveAt })!;
    return this.update(
      id,
      'SET queuedFor = :device, deadlineAt = :expires, redriveAt = :redrive, failedDeliveries = if_not_exists(failedDeliveries, :zero) + :one, deadlineKey = :deadlineKey, version = version + :one REMOVE sentAt',
      'sentAt = :sent AND #s = :created',
      { ':device': current.deviceId, ':expires': current.expiresAt, ':redrive': redriveAt, ':zero': 0, ':deadlineKey': deadlineKeyOf(due, id), ':one': 1, ':sent': sentAt, ':created': 'CREATED' },
      { '#s': 'status' },
      'put a command back in its queue',
    );
  }

  async reschedule(command: Command, redriveAt: string | undefined): Promise<boolean> {
    const due = nextCheckAt({ ...(command.deadlineAt !== undefined && { deadlineAt: command.deadlineAt }), ...(redriveAt !== undefined && { redriveAt }) });
    if (due === undefined) return false;
    const updated = await this.update(
      command.id,
      `SET deadlineKey = :deadlineKey, version = version + :one${redriveAt !== undefined ? ', redriveAt = :redrive' : ' REMOVE redriveAt'}`,
      'version = :version AND attribute_exists(deadlinePk)',
      { ':deadlineKey': deadlineKeyOf(due, command.id), ':one': 1, ':version': command.version, ...(redriveAt !== undefined && { ':redrive': redriveAt }) },
      undefined,
      'reschedule a command',
    );
    return updated !== undefined;
  }

  async transition(id: string, transition: CommandTransition): Promise<Command | undefined> {
    const from = allowedPredecessors(transition.to);
    if (from.length === 0) return undefined;
    const values: Record<string, unknown> = { ':to': transition.to, ':one': 1 };
    from.forEach((status, i) => (values[`:from${i}`] = status));
    const conditions = [`#s IN (${from.map((_, i) => `:from${i}`).join(', ')})`];
    if (transition.beforeDeadline || transition.afterDeadline) {
      values[':at'] = transition.at;
      conditions.push(transition.beforeDeadline ? 'deadlineAt > :at' : 'deadlineAt <= :at');
    }
    if (transition.onlyAwaitingDelivery) conditions.push('attribute_exists(queuedFor) AND attribute_not_exists(sentAt)');
    const set = ['#s = :to', 'version = version + :one'];
    const remove = ['queuedFor', 'redriveAt'];
    if (transition.statusReason !== undefined) {
      set.push('statusReason = :reason');
      values[':reason'] = transition.statusReason;
    }
    if (transition.result !== undefined) {
      set.push('#r = :result');
      values[':result'] = JSON.stringify(transition.result);
    }
    if (isTerminal(transition.to)) {
      set.push('completedAt = :completed');
      values[':completed'] = transition.at;
      remove.push('deadlinePk', 'deadlineKey', 'deadlineAt');
    }
    return this.update(
      id,
      `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
      conditions.join(' AND '),
      values,
      { '#s': 'status', ...(transition.result !== undefined && { '#r': 'result' }) },
      `record ${transition.to}`,
    );
  }

  async recordLateAnswer(id: string, answer: LateAnswer): Promise<boolean> {
    const updated = await this.update(
      id,
      'SET lateAnswer = :late, version = version + :one',
      'attribute_exists(id) AND attribute_not_exists(lateAnswer)',
      { ':late': JSON.stringify(answer), ':one': 1 },
      undefined,
      'record a late answer',
    );
    return updated !== undefined;
  }

  async overdue(now: string, limit: number): Promise<string[]> {
    try {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'byDeadline',
          // '~' sorts after every id character, so every deadline at `now` is included.
          KeyConditionExpression: 'deadlinePk = :pk AND deadlineKey <= :until',
          ExpressionAttributeValues: { ':pk': DEADLINE_PK, ':until': `${now}#~` },
          ScanIndexForward: true,
          Limit: limit,
        }),
      );
      return (page.Items ?? []).map((item) => String(item.id));
    } catch (error) {
      throw mapDynamoError(error, 'read overdue commands');
    }
  }

  private async getItem(id: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
      return Item && isCommandItem(Item) ? (Item as unknown as Record<string, unknown>) : undefined;
    } catch (error) {
      throw mapDynamoError(error, 'get command');
    }
  }

  private async update(
    id: string,
    expression: string,
    condition: string,
    values: Record<string, unknown>,
    names: Record<string, string> | undefined,
    action: string,
  ): Promise<Command | undefined> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ...(names && { ExpressionAttributeNames: names }),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? fromCommandItem(Attributes) : undefined;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw mapDynamoError(error, action);
    }
  }
}

/** A cursor from a signed page token of this device's listing; anything else is refused. */
function checkCursor(cursor: PageCursor, deviceId: string): Record<string, string> {
  const { id, createdKey } = cursor;
  if (typeof id !== 'string' || typeof createdKey !== 'string' || cursor.deviceId !== deviceId) {
    throw new ValidationError('pageToken does not belong to this listing', 'pageToken');
  }
  return { id, deviceId, createdKey };
}
