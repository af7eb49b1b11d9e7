// Envoy's xDS protos (vendored in ./assets/proto) loaded once with protobufjs, and a proto3-JSON → binary encoder.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Enum, Root, Type } from 'protobufjs';

const require = createRequire(import.meta.url);

export const TYPE_URLS = {
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
} as const;

export type XdsTypeUrl = (typeof TYPE_URLS)[keyof typeof TYPE_URLS];

// The roots: ADS, EDS, and the resources drainwatch builds; their imports come along.
const ENTRY_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/endpoint/v3/eds.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
];

/**
 * The vendored tree (scripts/copy-assets.mjs copies every assets/ folder under src/ to dist/, so the same path works built or not).
 *
 * @example join(protoDir(), 'envoy/service/discovery/v3/ads.proto')
 */
export function protoDir(): string {
  return fileURLToPath(new URL('./assets/proto', import.meta.url));
}

let loaded: Root | null = null;

/**
 * Envoy's protos as one resolved protobufjs root (snake_case field names, as in the .proto files).
 *
 * @example
 * envoyRoot().lookupType('envoy.service.discovery.v3.DiscoveryRequest')
 */
export function envoyRoot(): Root {
  if (loaded) return loaded;
  const dir = protoDir();
  // validate.proto and the annotations import descriptor.proto, which protobufjs ships as JSON.
  const descriptor = require('protobufjs/google/protobuf/descriptor.json') as { nested: { google: { nested: { protobuf: { nested: Record<string, unknown> } } } } };
  protobuf.common('descriptor', descriptor.nested.google.nested.protobuf.nested as never);
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(dir, target));
  root.loadSync(ENTRY_FILES, { keepCase: true });
  root.resolveAll();
  loaded = root;
  return root;
}

/**
 * The message type by full name (no leading dot).
 *
 * @example messageType('envoy.config.endpoint.v3.ClusterLoadAssignment').fields.cluster_name
 */
export function messageType(name: string): Type {
  return envoyRoot().lookupType(name);
}

const WRAPPERS = new Set([
  '.google.protobuf.DoubleValue', '.google.protobuf.FloatValue', '.google.protobuf.Int64Value', '.google.protobuf.UInt64Value',
  '.google.protobuf.Int32Value', '.google.protobuf.UInt32Value', '.google.protobuf.BoolValue', '.google.protobuf.StringValue',
]);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** '1.5s' → { seconds, nanos } (proto3 JSON Duration). */
function duration(text: unknown, path: string): { seconds: number; nanos: number } {
  const match = typeof text === 'string' ? /^(\d+)(?:\.(\d{1,9}))?s$/.exec(text) : null;
  if (!match) throw new Error(`${path}: not a proto3 JSON duration: ${JSON.stringify(text)}`);
  return { seconds: Number(match[1]), nanos: Number((match[2] ?? '').padEnd(9, '0')) };
}

/**
 * Converts proto3 JSON (snake_case, wrappers as plain values, durations as "1s", Any with "@type")
 * into the object shape protobufjs encodes. Only drainwatch's own renderings come through here, so
 * an unknown field is a programming error and throws.
 */
function toProtobufObject(type: Type, json: unknown, path: string): Record<string, unknown> {
  if (!isObject(json)) throw new Error(`${path}: expected an object for ${type.fullName}`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (key === '@type') continue;
    const field = type.fields[key];
    if (!field) throw new Error(`${path}.${key}: no such field in ${type.fullName}`);
    const convert = (item: unknown, at: string): unknown => {
      const resolved = field.resolvedType as Type | Enum | null;
      if (!resolved || !('fields' in resolved)) return item;
      const name = resolved.fullName;
      if (WRAPPERS.has(name)) return { value: item };
      if (name === '.google.protobuf.Duration') return duration(item, at);
      if (name === '.google.protobuf.Any') return encodeAny(item, at);
      return toProtobufObject(resolved, item, at);
    };
    if (field.repeated) {
      if (!Array.isArray(value)) throw new Error(`${path}.${key}: expected a list`);
      out[key] = value.map((item, index) => convert(item, `${path}.${key}[${index}]`));
    } else if (field.map) {
      if (!isObject(value)) throw new Error(`${path}.${key}: expected a map`);
      out[key] = Object.fromEntries(Object.entries(value).map(([name, item]) => [name, convert(item, `${path}.${key}.${name}`)]));
    } else {
      out[key] = convert(value, `${path}.${key}`);
    }
  }
  return out;
}

function encodeAny(json: unknown, path: string): { type_url: string; value: Uint8Array } {
  if (!isObject(json) || typeof json['@type'] !== 'string') throw new Error(`${path}: an Any needs "@type"`);
  const typeUrl = json['@type'];
  return { type_url: typeUrl, value: encodeJson(typeUrl.slice(typeUrl.lastIndexOf('/') + 1), json) };
}

/**
 * Encodes proto3 JSON as the binary message `typeName` (nested Any values included).
 *
 * @example
 * encodeJson('envoy.config.endpoint.v3.ClusterLoadAssignment', { cluster_name: 'pexip', endpoints: [] })
 */
export function encodeJson(typeName: string, json: unknown): Uint8Array {
  const type = messageType(typeName);
  const object = toProtobufObject(type, json, typeName);
  return type.encode(type.fromObject(object)).finish();
}

/**
 * Decodes a binary message into plain JSON-like objects (enums as names, 64-bit integers as
 * strings, defaults filled in), the shape the server and tests read.
 *
 * @example
 * decodeMessage('envoy.service.discovery.v3.DiscoveryRequest', bytes).type_url
 */
export function decodeMessage<T = Record<string, unknown>>(typeName: string, bytes: Uint8Array): T {
  const type = messageType(typeName);
  return type.toObject(type.decode(bytes), { longs: String, enums: String, defaults: true, arrays: true }) as T;
}
