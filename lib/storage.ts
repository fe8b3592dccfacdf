import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type ITable,
  ProjectionType,
  StreamViewType,
  Table,
  type TableProps,
} from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  ALL_TABLES,
  DEVICES_TABLE,
  type IndexDefinition,
  type KeyAttribute,
  STATS_TABLE,
  TELEMETRY_TABLE,
  type TableDefinition,
} from '../src/contracts/tables.js';

/** Something that can be granted access and told the table's name (a Lambda function, or an adapter for a container). */
export interface TableConsumer extends IGrantable {
  addEnvironment(key: string, value: string): unknown;
}

/**
 * What a consumer may do with a table, as explicit DynamoDB actions: never Scan (no request path
 * scans), never more than the runtime sends.
 */
export const TABLE_ACCESS = {
  /** Point reads, batch reads and index queries. */
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
  /** The registry (DeviceRepository, credential store): reads plus conditional put, update and delete. */
  readWrite: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  /** The stats projector (events function): reads its own marker and counter items and updates them. */
  project: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
} as const;

/** What a consumer may do with a table. */
export type TableAccess = keyof typeof TABLE_ACCESS;

/** Props of {@link Storage}. */
export interface StorageProps {
  /**
   * Create the Telemetry table (used when the `telemetryStore` flag is `dynamodb`).
   * @default true
   */
  readonly telemetryTable?: boolean;
  /**
   * Removal policy of every table. Tables hold the fleet's state, so the default keeps them
   * when the stack or the construct goes away.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * DynamoDB deletion protection on every table (a second guard against a manual delete).
   * @default true
   */
  readonly deletionProtection?: boolean;
}

/**
 * The platform's stateful DynamoDB tables, built from the plain definitions in
 * `src/adapters/dynamodb/tables.ts` that the local runtime also uses: on-demand, point-in-time
 * recovery, streams and TTL as defined, RETAIN, deletion protection, generated names.
 */
export class Storage extends Construct {
  /** Devices registry (streamed to the change feed). */
  public readonly devicesTable: ITable;
  /** Fleet counters maintained by the change feed. */
  public readonly statsTable: ITable;
  /** Telemetry points; undefined when the stack stores telemetry in Timestream. */
  public readonly telemetryTable?: ITable;

  private readonly tables = new Map<string, Table>();

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const withTelemetry = props.telemetryTable ?? true;
    for (const definition of ALL_TABLES) {
      if (definition === TELEMETRY_TABLE && !withTelemetry) continue;
      this.tables.set(definition.id, this.createTable(definition, props));
    }
    this.devicesTable = this.table(DEVICES_TABLE);
    this.statsTable = this.table(STATS_TABLE);
    this.telemetryTable = this.tables.get(TELEMETRY_TABLE.id);
  }

  /** The table created from a definition; throws when the definition was not created here. */
  public table(definition: TableDefinition): ITable {
    const table = this.tables.get(definition.id);
    if (!table) throw new Error(`Storage has no ${definition.id} table (is the telemetryTable prop false?)`);
    return table;
  }

  /**
   * Grants access to a table AND sets the environment variable that names it
   * (`definition.tableNameEnv`), so a consumer never gets one without the other.
   */
  public grant(definition: TableDefinition, consumer: TableConsumer, access: TableAccess): void {
    const table = this.table(definition);
    const indexes = definition.globalSecondaryIndexes.length > 0 && access !== 'project' ? [`${table.tableArn}/index/*`] : [];
    consumer.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: [...TABLE_ACCESS[access]], resources: [table.tableArn, ...indexes] }));
    consumer.addEnvironment(definition.tableNameEnv, table.tableName);
  }

  /** Read access to Devices plus DEVICES_TABLE_NAME. */
  public grantDevicesRead(consumer: TableConsumer): void {
    this.grant(DEVICES_TABLE, consumer, 'read');
  }

  /** Read/write access to Devices plus DEVICES_TABLE_NAME. */
  public grantDevicesReadWrite(consumer: TableConsumer): void {
    this.grant(DEVICES_TABLE, consumer, 'readWrite');
  }

  /** Read access to Stats plus STATS_TABLE_NAME. */
  public grantStatsRead(consumer: TableConsumer): void {
    this.grant(STATS_TABLE, consumer, 'read');
  }

  /** What the stats projector needs of Stats (GetItem, UpdateItem) plus STATS_TABLE_NAME. */
  public grantStatsProjection(consumer: TableConsumer): void {
    this.grant(STATS_TABLE, consumer, 'project');
  }

  /** Read/write access to Telemetry plus TELEMETRY_TABLE_NAME (throws without the Telemetry table). */
  public grantTelemetryReadWrite(consumer: TableConsumer): void {
    this.grant(TELEMETRY_TABLE, consumer, 'readWrite');
  }

  private createTable(definition: TableDefinition, props: StorageProps): Table {
    const tableProps: TableProps = {
      partitionKey: attribute(definition.partitionKey),
      sortKey: definition.sortKey && attribute(definition.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      stream: definition.stream === 'NEW_AND_OLD_IMAGES' ? StreamViewType.NEW_AND_OLD_IMAGES : undefined,
      timeToLiveAttribute: definition.timeToLiveAttribute,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      deletionProtection: props.deletionProtection ?? true,
    };
    const table = new Table(this, definition.id, tableProps);
    for (const index of definition.globalSecondaryIndexes) table.addGlobalSecondaryIndex(indexProps(index));
    return table;
  }
}

function attribute(key: KeyAttribute): { name: string; type: AttributeType } {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}

function indexProps(index: IndexDefinition) {
  const projection = index.projection;
  return {
    indexName: index.indexName,
    partitionKey: attribute(index.partitionKey),
    sortKey: index.sortKey && attribute(index.sortKey),
    projectionType:
      projection.type === 'ALL'
        ? ProjectionType.ALL
        : projection.type === 'KEYS_ONLY'
          ? ProjectionType.KEYS_ONLY
          : ProjectionType.INCLUDE,
    nonKeyAttributes: projection.type === 'INCLUDE' ? [...projection.nonKeyAttributes] : undefined,
  };
}
