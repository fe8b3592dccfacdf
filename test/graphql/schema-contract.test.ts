import { AlarmService } from '../../src/alarms/alarm-service.js';
import { InMemoryAlarmStore } from '../../src/adapters/memory/in-memory-alarm-store.js';
import { readFileSync } from 'node:fs';
import { getNamedType, isNonNullType, isObjectType, type GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { GENERATED_TYPES_PATH, renderResolverTypes } from '../../scripts/generate-graphql.js';
import { InMemoryDeviceRepository } from '../../src/adapters/memory/in-memory-device-repository.js';
import { InMemoryStats } from '../../src/adapters/memory/in-memory-stats.js';
import { DeviceRegistry } from '../../src/domain/device-registry.js';
import { createPageTokenCodec } from '../../src/domain/page-token.js';
import type { Device } from '../../src/domain/device.js';
import { NONE_DATA_SOURCE_FIELDS } from '../../src/contracts/graphql-api.js';
import { toGraphqlStats } from '../../src/graphql/device-mapper.js';
import { toDeviceChangeInput, toGraphqlDevice } from '../../src/wire/graphql-device.js';
import { createResolverHandler } from '../../src/graphql/resolver-handler.js';
import { TelemetryHistory } from '../../src/domain/telemetry-history.js';
import { buildSchemaFromSdl } from '../../src/graphql/schema-source.js';
import { UNUSED_COMMANDS, UNUSED_TWINS } from './unused-control.js';

const schema = buildSchemaFromSdl();

const handler = createResolverHandler({
  commands: UNUSED_COMMANDS,
  twins: UNUSED_TWINS,
  registry: new DeviceRegistry({ repository: new InMemoryDeviceRepository(), stats: new InMemoryStats(), pageTokens: createPageTokenCodec('contract-test-secret-0123456789') }),
  telemetry: new TelemetryHistory({ reader: { query: async () => ({ items: [] }), rollups: async () => ({ items: [] }) }, pageTokens: createPageTokenCodec('contract-test-secret-0123456789') }),
  alarms: new AlarmService({ store: new InMemoryAlarmStore(), pageTokens: createPageTokenCodec('contract-test-secret-0123456789'), devices: new InMemoryDeviceRepository() }),
});

const sampleDevice: Device = {
  id: '123e4567-e89b-12d3-a456-426614174000',
  name: 'n',
  type: 't',
  status: 'ONLINE',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  lastSeen: '2026-01-01T00:00:01.000Z',
  metadata: { a: 'b' },
  version: 3,
  readings: { temp: 21.5, on: true, mode: 'eco' },
};

/** Field names a value uses that the object type lacks, recursively; plus missing non-null fields. */
function shapeProblems(value: unknown, type: GraphQLObjectType, path: string): string[] {
  const problems: string[] = [];
  const fields = type.getFields();
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!fields[key]) problems.push(`${path}.${key} is not a field of ${type.name}`);
  }
  for (const field of Object.values(fields)) {
    const fieldValue = record[field.name];
    if (isNonNullType(field.type) && (fieldValue === undefined || fieldValue === null)) problems.push(`${path}.${field.name} (non-null) is missing`);
    const named = getNamedType(field.type);
    if (!isObjectType(named) || fieldValue === undefined || fieldValue === null) continue;
    const items = Array.isArray(fieldValue) ? fieldValue : [fieldValue];
    items.forEach((item, i) => problems.push(...shapeProblems(item, named, `${path}.${field.name}[${i}]`)));
  }
  return problems;
}

describe('schema contract', () => {
  it('has a resolver for every Query and Mutation field, and no resolver for a field the schema lacks', () => {
    // Prepare
    const schemaFields = [schema.getQueryType()!, schema.getMutationType()!].flatMap((type) =>
      Object.keys(type.getFields()).map((field) => `${type.name}.${field}`),
    );
    const resolved = [...handler.fields, ...NONE_DATA_SOURCE_FIELDS];

    // Act
    const withoutResolver = schemaFields.filter((f) => !resolved.includes(f));
    const notInSchema = resolved.filter((f) => !schemaFields.includes(f));

    // Assess
    expect(withoutResolver).toEqual([]);
    expect(notInSchema).toEqual([]);
  });

  it('maps devices, stats and changes onto exactly the fields the schema declares', () => {
    // Act
    const problems = [
      ...shapeProblems(toGraphqlDevice(sampleDevice), schema.getType('Device') as GraphQLObjectType, 'Device'),
      ...shapeProblems(
        toGraphqlStats({ total: 1, byStatus: { UNKNOWN: 0, ONLINE: 1, OFFLINE: 0, ERROR: 0, MAINTENANCE: 0 }, byType: { t: 1 } }),
        schema.getType('DeviceStats') as GraphQLObjectType,
        'DeviceStats',
      ),
      ...shapeProblems(
        toDeviceChangeInput({ changeType: 'UPDATED', device: sampleDevice, changedAt: sampleDevice.updatedAt, sequence: '1' }),
        schema.getType('DeviceChange') as GraphQLObjectType,
        'DeviceChange',
      ),
    ];

    // Assess
    expect(problems).toEqual([]);
  });

  it('keeps the generated resolver types in step with the schema file', () => {
    // Act
    const committed = readFileSync(GENERATED_TYPES_PATH, 'utf8');

    // Assess
    expect(committed, 'src/generated/graphql/types.ts is stale: run npm run generate').toBe(renderResolverTypes());
  });
});
