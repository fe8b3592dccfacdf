/**
 * The DeviceService definition loaded from the embedded descriptor (no .proto at run time), with
 * request deserializers that never throw: bytes that fail the wire check or the decode become a
 * {@link MalformedRequest}, which the handlers answer with INVALID_ARGUMENT. grpc-js itself would
 * answer a throwing deserializer with INTERNAL (server-interceptors.js, decompressAndMaybePush).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { descriptor } from '../generated/proto/descriptor.js';
import type { ProtoGrpcType } from '../generated/proto/device_service.js';
import type { DeviceServiceDefinition } from '../generated/proto/iot/device/v1/DeviceService.js';
import type { WatchDevicesResponse } from '../generated/proto/iot/device/v1/WatchDevicesResponse.js';
import { MAX_METADATA_ENTRIES, MAX_METADATA_KEY_LENGTH, MAX_METADATA_VALUE_LENGTH } from '../domain/validation.js';
import { checkWire, WireLimitError, type WireCheckOptions } from './wire-check.js';

/** Fully qualified service name, as health checks and reflection know it. */
export const DEVICE_SERVICE_NAME = 'iot.device.v1.DeviceService';

/** Matches scripts/generate-proto.ts LOADER_OPTIONS: the generated types assume these. */
const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };

/**
 * A request refused while decoding; `reason` is safe to show the caller. `malformed` is false
 * when the bytes are well-formed but break a size rule checked on the wire (the reason names it).
 */
export class MalformedRequest {
  constructor(
    readonly reason: string,
    readonly malformed = true,
  ) {}
}

/**
 * The domain's metadata rules, checked on the wire so a Device.metadata of megabytes or of
 * 100,000 entries is refused before it is decoded (validation.ts still checks the decoded value).
 */
const WIRE_CHECK_OPTIONS: WireCheckOptions = {
  mapLimits: new Map([
    ['iot.device.v1.Device.metadata', { maxEntries: MAX_METADATA_ENTRIES, maxKeyChars: MAX_METADATA_KEY_LENGTH, maxValueChars: MAX_METADATA_VALUE_LENGTH }],
  ]),
};

/** The package definition (also what server reflection serves). */
export const packageDefinition: protoLoader.PackageDefinition = protoLoader.fromJSON(
  descriptor as unknown as protobuf.INamespace,
  LOADER_OPTIONS,
);

const root = protobuf.Root.fromJSON(descriptor as unknown as protobuf.INamespace);

const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as ProtoGrpcType;

/** The generated client constructor (tests, bench, the health client). */
export const DeviceServiceClient = loaded.iot.device.v1.DeviceService;

/** The service definition with guarded request deserializers. */
export const deviceServiceDefinition: DeviceServiceDefinition = guardDeserializers(
  DeviceServiceClient.service,
);

function guardDeserializers(service: DeviceServiceDefinition): DeviceServiceDefinition {
  const guarded: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(service)) {
    const requestType = root.lookupType(requestTypeName(name));
    const decode = method.requestDeserialize;
    const serialize = method.responseSerialize as (value: unknown) => Buffer;
    guarded[name] = {
      ...method,
      // Streams may write a message they encoded once for every stream (see encodeWatchResponse).
      ...(method.responseStream && { responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)) }),
      requestDeserialize: (bytes: Buffer) => {
        try {
          checkWire(requestType, bytes, WIRE_CHECK_OPTIONS);
          return decode(bytes);
        } catch (error) {
          if (error instanceof WireLimitError) return new MalformedRequest(error.message, false);
          return new MalformedRequest(error instanceof Error ? error.message : 'undecodable request');
        }
      },
    };
  }
  return guarded as unknown as DeviceServiceDefinition;
}

function requestTypeName(method: string): string {
  const svc = root.lookupService(DEVICE_SERVICE_NAME);
  return svc.methods[method]!.resolvedRequestType!.fullName.replace(/^\./, '');
}

/**
 * Encodes one WatchDevices message; the stream's serializer passes the Buffer through, so a
 * change fanned out to many streams is encoded once instead of once per stream.
 */
export function encodeWatchResponse(message: WatchDevicesResponse): WatchDevicesResponse {
  return DeviceServiceClient.service.WatchDevices.responseSerialize(message) as unknown as WatchDevicesResponse;
}
