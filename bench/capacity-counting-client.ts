/**
 * A DynamoDB document client for the benches that asks for the consumed capacity of every
 * request (what on-demand bills) and adds it, with the request count per operation, to
 * whichever tally is in force, so one client can bill several phases of a run apart.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../src/adapters/dynamodb/client.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../src/local/dynamodb/dynalite.js';

/** Requests per operation (GetItem, Query, ...) and the read and write units they consumed. */
export interface CapacityTally {
  requests: Record<string, number>;
  readUnits: number;
  writeUnits: number;
}

/** An empty tally. */
export const emptyCapacityTally = (): CapacityTally => ({ requests: {}, readUnits: 0, writeUnits: 0 });

type Consumed = { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> | undefined;

/** A document client on dynalite at `endpoint` that adds every request to `tally()`, read at the time the answer comes back. */
export function capacityCountingClient(endpoint: string, tally: () => CapacityTally): DynamoDBDocumentClient {
  const doc = createDocumentClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  doc.middlewareStack.add(
    (next, context) => async (input) => {
      const params = input.input as Record<string, unknown>;
      params.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(input);
      const t = tally();
      const operation = String(context.commandName).replace(/Command$/, '');
      t.requests[operation] = (t.requests[operation] ?? 0) + 1;
      const consumed = (result.output as { ConsumedCapacity?: Consumed }).ConsumedCapacity;
      let units = Array.isArray(consumed) ? consumed.reduce((s, x) => s + (x.CapacityUnits ?? 0), 0) : (consumed?.CapacityUnits ?? 0);
      // DynamoDB bills a read request at least half a unit (a whole one when strongly consistent), even when it finds nothing.
      if (operation === 'Query' || operation === 'GetItem') units = Math.max(units, params.ConsistentRead ? 1 : 0.5);
      if (/^(Put|Update|Delete|BatchWrite|TransactWrite)/.test(operation)) t.writeUnits += units;
      else t.readUnits += units;
      return result;
    },
    { step: 'initialize', name: 'countConsumedCapacity' },
  );
  return doc;
}
