/**
 * The file descriptors server reflection serves, as protoc would write them. proto-loader builds
 * them with protobufjs, which names a map's entry type after the field (`ByStatus`, not
 * `ByStatusEntry`) and declares no file dependencies, so a reflection client that checks
 * descriptors (grpcurl, @bufbuild/protobuf) cannot resolve `google.protobuf.*` types and sees
 * `DeviceStats.by_status` as a list of key/value entries; and it keeps only the camelCase field
 * names the server's loader uses, without `json_name`. This rewrites each file: map entry types
 * named `<Field>Entry` (and the fields pointing at them), the dependencies declared, fields and
 * oneofs under their .proto names (lower_snake_case, as the style the protos follow writes them)
 * with protoc's `json_name` (lowerCamelCase), so JSON from a reflection client uses the same
 * names as the proto3 JSON mapping.
 */
import type { PackageDefinition } from '@grpc/proto-loader';
import descriptorExt from 'protobufjs/ext/descriptor/index.js';

interface MessageDescriptor {
  name: string;
  field?: Array<{ name: string; typeName?: string; jsonName?: string }>;
  oneofDecl?: Array<{ name: string }>;
  nestedType?: MessageDescriptor[];
  enumType?: Array<{ name: string }>;
  options?: { mapEntry?: boolean };
}

interface FileDescriptor {
  name: string;
  package?: string;
  dependency: string[];
  messageType?: MessageDescriptor[];
  enumType?: Array<{ name: string }>;
  service?: Array<{ method?: Array<{ inputType?: string; outputType?: string }> }>;
}

const { FileDescriptorProto } = descriptorExt as unknown as {
  FileDescriptorProto: { decode(bytes: Uint8Array): FileDescriptor; encode(file: FileDescriptor): { finish(): Uint8Array } };
};

/** `definition` with every file descriptor rewritten as protoc would write it. */
export function reflectionDescriptors(definition: PackageDefinition): PackageDefinition {
  const originals = new Map<string, Buffer>();
  for (const entry of Object.values(definition)) {
    for (const bytes of (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? []) originals.set(bytes.toString('base64'), bytes);
  }
  const files = [...originals.values()].map((bytes) => FileDescriptorProto.decode(bytes));
  const fileOfPackage = new Map(files.map((file) => [file.package ?? '', file.name]));
  const known = new Set<string>();
  for (const file of files) {
    const scope = file.package ? `.${file.package}` : '';
    for (const e of file.enumType ?? []) known.add(`${scope}.${e.name}`);
    for (const message of file.messageType ?? []) collectNames(message, scope, known);
  }
  const rewritten = new Map<string, Buffer>();
  for (const [key, file] of [...originals.keys()].map((k, i) => [k, files[i]!] as const)) {
    const referenced = new Set<string>();
    const scope = `.${file.package ?? ''}`;
    for (const message of file.messageType ?? []) fixMessage(message, scope, referenced, known);
    for (const service of file.service ?? []) for (const method of service.method ?? []) for (const type of [method.inputType, method.outputType]) if (type) referenced.add(type);
    const dependencies = new Set(file.dependency);
    for (const type of referenced) {
      const owner = [...fileOfPackage].find(([pkg]) => pkg && type.startsWith(`.${pkg}.`))?.[1];
      if (owner && owner !== file.name) dependencies.add(owner);
    }
    file.dependency = [...dependencies];
    rewritten.set(key, Buffer.from(FileDescriptorProto.encode(file).finish()));
  }
  return Object.fromEntries(
    Object.entries(definition).map(([name, entry]) => {
      const protos = (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
      return [name, protos ? { ...entry, fileDescriptorProtos: protos.map((bytes) => rewritten.get(bytes.toString('base64')) ?? bytes) } : entry];
    }),
  ) as PackageDefinition;
}

/** Every fully qualified message and enum name below `message`, with the names its map entries get. */
function collectNames(message: MessageDescriptor, scope: string, known: Set<string>): void {
  const path = `${scope}.${message.name}`;
  known.add(path);
  for (const e of message.enumType ?? []) known.add(`${path}.${e.name}`);
  for (const nested of message.nestedType ?? []) collectNames(nested, path, known);
}

/** A type reference made absolute the way protoc resolves it: innermost scope first. */
function qualify(name: string, scope: string, known: Set<string>): string {
  if (name.startsWith('.')) return name;
  for (let at = scope; ; at = at.slice(0, Math.max(0, at.lastIndexOf('.')))) {
    if (known.has(`${at}.${name}`)) return `${at}.${name}`;
    if (!at) return name;
  }
}

/** Renames map entries to `<Field>Entry`, fully qualifies every reference, and collects the types the message refers to. */
function fixMessage(message: MessageDescriptor, scope: string, referenced: Set<string>, known: Set<string>): void {
  const path = `${scope}.${message.name}`;
  const renames = new Map<string, string>();
  for (const nested of message.nestedType ?? []) {
    if (!nested.options?.mapEntry) continue;
    const field = message.field?.find((f) => f.typeName === nested.name || f.typeName === `${path}.${nested.name}`);
    if (!field) continue;
    const entryName = `${field.name.replace(/(?:^|_)([a-z0-9])/g, (_, c: string) => c.toUpperCase())}Entry`;
    renames.set(field.name, `${path}.${entryName}`);
    nested.name = entryName;
  }
  for (const field of message.field ?? []) {
    const renamed = renames.get(field.name);
    if (renamed) field.typeName = renamed;
    else if (field.typeName) field.typeName = qualify(field.typeName, path, known);
    if (field.typeName) referenced.add(field.typeName);
    field.name = protoName(field.name);
    field.jsonName = jsonName(field.name);
  }
  for (const oneof of message.oneofDecl ?? []) oneof.name = protoName(oneof.name);
  for (const nested of message.nestedType ?? []) fixMessage(nested, path, referenced, known);
}

/** The .proto name of a field the loader camelCased (`byStatus` -> `by_status`); snake_case names map back exactly. */
function protoName(loaded: string): string {
  return loaded.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** protoc's json_name: underscores dropped, the letter after each one upper-cased. */
function jsonName(name: string): string {
  return name.replace(/_+([a-z0-9])?/g, (_, c: string | undefined) => (c ?? '').toUpperCase());
}
