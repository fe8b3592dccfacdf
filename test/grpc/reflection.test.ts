/**
 * Server reflection read by a descriptor-checking client (@bufbuild/protobuf, which resolves
 * files the way grpcurl does): the served files resolve, and map fields are maps.
 */
import { fileURLToPath } from 'node:url';
import { create, createFileRegistry, fromBinary, toBinary, toJson } from '@bufbuild/protobuf';
import { protoCamelCase } from '@bufbuild/protobuf/reflect';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { afterEach, describe, expect, it } from 'vitest';
import { descriptor } from '../../src/generated/proto/descriptor.js';
import { DEVICE_SERVICE_NAME } from '../../src/grpc/proto.js';
import { PROTO_FILES } from '../../scripts/generate-proto.js';
import { channelCredentials, startTestServer, type TestServer, waitFor } from './helpers.js';

/** The file descriptors the server answers for `symbol`, over the reflection protocol. */
async function reflectedFiles(address: string, symbol: string): Promise<Uint8Array[]> {
  const reflectionProto = fileURLToPath(new URL('../../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto', import.meta.url));
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto, { keepCase: true })) as any;
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, channelCredentials());
  const stream = client.ServerReflectionInfo();
  const answers: any[] = [];
  stream.on('data', (answer: unknown) => answers.push(answer));
  stream.write({ file_containing_symbol: symbol });
  await waitFor(() => answers.length === 1, 'the reflection answer');
  stream.end();
  client.close();
  return answers[0].file_descriptor_response.file_descriptor_proto as Uint8Array[];
}

describe('server reflection', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('serves files a descriptor-checking client resolves, with DeviceStats maps as maps', async () => {
    // Prepare
    t = await startTestServer();

    // Act
    const files = (await reflectedFiles(t.server.address, DEVICE_SERVICE_NAME)).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
    // A descriptor set lists each file after the files it imports.
    const ordered = [...files].sort((a, b) => (a.dependency.includes(b.name) ? 1 : b.dependency.includes(a.name) ? -1 : 0));
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
    const stats = registry.getMessage('iot.device.v1.DeviceStats')!;
    const device = registry.getMessage('iot.device.v1.Device')!;

    // Assess: the fields are maps, and the server's own bytes decode into map objects.
    expect(stats.fields.filter((f) => f.fieldKind === 'map').map((f) => f.name)).toEqual(expect.arrayContaining(['by_status', 'by_type']));
    expect(device.fields.find((f) => f.name === 'metadata')?.fieldKind).toBe('map');
    const serverType = protobuf.Root.fromJSON(descriptor as unknown as protobuf.INamespace).lookupType('iot.device.v1.DeviceStats');
    const bytes = serverType.encode(serverType.fromObject({ total: 3, byStatus: { ONLINE: 2, OFFLINE: 1 }, byType: { sensor: 3 } })).finish();
    const decoded = fromBinary(stats, bytes) as unknown as { byStatus: Record<string, bigint>; byType: Record<string, bigint> };
    expect(decoded.byStatus).toEqual({ ONLINE: 2n, OFFLINE: 1n });
    expect(decoded.byType).toEqual({ sensor: 3n });
    expect(toBinary(stats, decoded as never).byteLength).toBe(bytes.byteLength);
    expect(Object.keys(toJson(stats, decoded as never) as object)).toEqual(['total', 'byStatus', 'byType']);
  });

  it('serves every field under its .proto name with the json_name protoc gives it', async () => {
    // Prepare
    t = await startTestServer();
    // The .proto files themselves, with the names as written.
    const source = new protobuf.Root();
    source.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : fileURLToPath(new URL(`../../proto/${target}`, import.meta.url)));
    source.loadSync(PROTO_FILES, { keepCase: true });
    source.resolveAll();

    // Act
    const files = (await reflectedFiles(t.server.address, DEVICE_SERVICE_NAME)).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));

    // Assess
    const served = files.filter((file) => file.package.startsWith('iot.')).flatMap((file) => file.messageType.flatMap((m) => fieldsOf(m, file.package)));
    expect(served.length).toBeGreaterThan(50);
    for (const { message, field } of served) {
      // protoc sets json_name on every field: the lowerCamelCase of its name.
      expect(field.jsonName, `${message}.${field.name}`).toBe(protoCamelCase(field.name));
      // Map entries are synthesized by protoc (their fields are key and value).
      if (message.endsWith('Entry')) continue;
      expect(source.lookupType(message).fields[field.name], `${message}.${field.name} in the .proto`).toBeDefined();
    }
    const alarmRule = files.flatMap((f) => f.messageType).find((m) => m.name === 'AlarmRule')!;
    expect(alarmRule.oneofDecl.map((o) => o.name).sort()).toEqual(Object.keys(source.lookupType('iot.device.v1.AlarmRule').oneofs ?? {}).sort());
  });
});

interface ServedField {
  readonly message: string;
  readonly field: { name: string; jsonName: string };
}

/** Every field of `message` and its nested messages, with the message's full name. */
function fieldsOf(message: { name: string; field: Array<{ name: string; jsonName: string }>; nestedType: unknown[] }, scope: string): ServedField[] {
  const name = `${scope}.${message.name}`;
  return [
    ...message.field.map((field) => ({ message: name, field })),
    ...(message.nestedType as Array<typeof message>).flatMap((nested) => fieldsOf(nested, name)),
  ];
}
