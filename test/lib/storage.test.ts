import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Function as LambdaFunction, Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { ALL_TABLES, DEVICES_TABLE, TELEMETRY_TABLE, type TableDefinition } from '../../src/contracts/tables.js';
import { Storage } from '../../lib/storage.js';
import { testStack } from './stack-helper.js';

function keySchema(pk: { name: string }, sk?: { name: string }) {
  return [{ AttributeName: pk.name, KeyType: 'HASH' }, ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' }] : [])];
}

function tableResource(template: Template, definition: TableDefinition): Record<string, any> {
  const tables = template.findResources('AWS::DynamoDB::Table', {
    Properties: { KeySchema: keySchema(definition.partitionKey, definition.sortKey) },
  });
  const matching = Object.entries(tables).filter(([logicalId]) => logicalId.startsWith(`Storage${definition.id}`));
  expect(matching).toHaveLength(1);
  return matching[0]![1];
}

function build(props?: ConstructorParameters<typeof Storage>[2]) {
  const stack = testStack();
  const storage = new Storage(stack, 'Storage', props);
  // Lazy: a template synthesizes the app, after which no construct may be added.
  return {
    stack,
    storage,
    get template() {
      return Template.fromStack(stack);
    },
  };
}

describe('Storage', () => {
  it('creates one table per definition', () => {
    // Prepare / Act
    const { template } = build();

    // Assess
    template.resourceCountIs('AWS::DynamoDB::Table', ALL_TABLES.length);
  });

  it.each(ALL_TABLES.map((d) => [d.id, d] as const))('gives %s the keys and indexes of its definition', (_id, definition) => {
    // Prepare / Act
    const { template } = build();

    // Assess
    const table = tableResource(template, definition);
    const indexes = (table.Properties.GlobalSecondaryIndexes ?? []) as Record<string, unknown>[];
    expect(indexes).toEqual(
      definition.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: keySchema(index.partitionKey, index.sortKey),
        Projection:
          index.projection.type === 'INCLUDE'
            ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projection.nonKeyAttributes] }
            : { ProjectionType: index.projection.type },
      })),
    );
    const keys = [definition.partitionKey, definition.sortKey, ...definition.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey])];
    const expected = new Map(keys.filter((k) => k !== undefined).map((k) => [k.name, k.type]));
    expect(
      Object.fromEntries((table.Properties.AttributeDefinitions as { AttributeName: string; AttributeType: string }[]).map((a) => [a.AttributeName, a.AttributeType])),
    ).toEqual(Object.fromEntries(expected));
  });

  it.each(ALL_TABLES.map((d) => [d.id, d] as const))('makes %s on-demand, recoverable, protected and retained', (_id, definition) => {
    // Prepare / Act
    const { template } = build();

    // Assess
    const table = tableResource(template, definition);
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    expect(table.Properties.TableName).toBeUndefined();
  });

  it.each(ALL_TABLES.map((d) => [d.id, d] as const))('gives %s the stream and TTL of its definition', (_id, definition) => {
    // Prepare / Act
    const { template } = build();

    // Assess
    const table = tableResource(template, definition);
    expect(table.Properties.StreamSpecification).toEqual(definition.stream ? { StreamViewType: definition.stream } : undefined);
    expect(table.Properties.TimeToLiveSpecification).toEqual(
      definition.timeToLiveAttribute ? { AttributeName: definition.timeToLiveAttribute, Enabled: true } : undefined,
    );
  });

  it('streams the Devices table with new and old images', () => {
    // Prepare / Act
    const { template } = build();

    // Assess
    expect(tableResource(template, DEVICES_TABLE).Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  it('leaves out the Telemetry table when telemetry goes to Timestream', () => {
    // Prepare / Act
    const { storage, template } = build({ telemetryTable: false });

    // Assess
    template.resourceCountIs('AWS::DynamoDB::Table', ALL_TABLES.length - 1);
    expect(storage.telemetryTable).toBeUndefined();
    expect(() => storage.table(TELEMETRY_TABLE)).toThrow(/no Telemetry table/);
  });

  it('honours an explicit removal policy', () => {
    // Prepare / Act
    const { template } = build({ removalPolicy: RemovalPolicy.DESTROY, deletionProtection: false });

    // Assess
    template.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
    expect(Object.values(template.findResources('AWS::DynamoDB::Table')).every((t) => t.DeletionPolicy === 'Delete')).toBe(true);
  });

  it('grants access and sets the variable naming the table together', () => {
    // Prepare
    const { stack, storage } = build();
    const fn = new LambdaFunction(stack, 'Consumer', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('export const handler = async () => {}'),
    });

    // Act
    storage.grantDevicesRead(fn);
    storage.grantStatsProjection(fn);

    // Assess
    const template = Template.fromStack(stack);
    const devicesRef = stack.resolve(storage.devicesTable.tableName);
    const statsRef = stack.resolve(storage.statsTable.tableName);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { DEVICES_TABLE_NAME: devicesRef, STATS_TABLE_NAME: statsRef } },
    });
    const devicesArn = stack.resolve(storage.devicesTable.tableArn);
    const statsArn = stack.resolve(storage.statsTable.tableArn);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'], Resource: Match.arrayWith([devicesArn]) }),
          Match.objectLike({ Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: statsArn }),
        ]),
      },
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const writesOnDevices = statements.filter(
      (s) => JSON.stringify(s.Resource).includes(JSON.stringify(devicesArn)) && JSON.stringify(s.Action).includes('dynamodb:PutItem'),
    );
    expect(writesOnDevices).toEqual([]);
  });
});
