// Dev-only strict checker of Envoy JSON/YAML against Envoy's own .proto files (from @grpc/grpc-js-xds) plus PGV rules.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import type { Enum, Field, MapField, Root, Type } from 'protobufjs';

const require = createRequire(import.meta.url);

export type ValidationResult = {
  /** Empty when valid. Each entry: "<json path>: <problem>". */
  errors: string[];
  /** Deprecated fields and similar: accepted by Envoy but worth knowing. */
  warnings: string[];
};

type Rules = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;
const UINT32 = [0, 2 ** 32 - 1] as const;
const INT64 = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const UINT64 = [0n, 2n ** 64n - 1n] as const;
const MAX_DURATION_SECONDS = 315_576_000_000n;

const WRAPPERS = new Set([
  'google.protobuf.DoubleValue', 'google.protobuf.FloatValue', 'google.protobuf.Int64Value', 'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value', 'google.protobuf.UInt32Value', 'google.protobuf.BoolValue', 'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
]);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
const fullName = (type: Type | Enum) => type.fullName.replace(/^\./, '');

/** Where the .proto trees live inside @grpc/grpc-js-xds. */
function protoDirs(): string[] {
  const pkg = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((dir) => join(pkg, 'deps', dir));
}

let cached: Promise<ProtoValidator> | null = null;

/**
 * Loads every v3 Envoy proto whose imports are all shipped (a few tracing/metrics protos need
 * opencensus/opentelemetry files the package does not carry), once per process.
 *
 * @example
 * const validator = await loadEnvoyValidator();
 * validator.validate('envoy.config.bootstrap.v3.Bootstrap', parse(yamlText)).errors // []
 */
export function loadEnvoyValidator(): Promise<ProtoValidator> {
  cached ??= (async () => {
    const dirs = protoDirs();
    const find = (target: string) => dirs.map((dir) => join(dir, target)).find((path) => existsSync(path));
    const loadable = new Map<string, boolean>();
    const check = (target: string, visiting: Set<string>): boolean => {
      if (target.startsWith('google/protobuf/')) return true;
      const known = loadable.get(target);
      if (known !== undefined) return known;
      if (visiting.has(target)) return true;
      visiting.add(target);
      const path = find(target);
      const imports = path ? [...readFileSync(path, 'utf8').matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)"/gm)].map((m) => m[1] as string) : [];
      const ok = path !== undefined && imports.every((name) => check(name, visiting));
      loadable.set(target, ok);
      return ok;
    };
    const envoyDir = dirs[0] as string;
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (entry.endsWith('.proto') && /\/v3(alpha)?\//.test(path)) files.push(path.slice(envoyDir.length + 1));
      }
    };
    walk(join(envoyDir, 'envoy'));
    const descriptor = require('protobufjs/google/protobuf/descriptor.json') as { nested: { google: { nested: { protobuf: { nested: Record<string, unknown> } } } } };
    protobuf.common('descriptor', descriptor.nested.google.nested.protobuf.nested as never);
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : (find(target) ?? target));
    await root.load(files.filter((file) => check(file, new Set())), { keepCase: true });
    root.resolveAll();
    return new ProtoValidator(root);
  })();
  return cached;
}

type Context = { errors: string[]; warnings: string[] };

/** Strict proto3-JSON checker: unknown fields, wrong types, bad Any URLs, bad durations and PGV rule violations are errors. */
export class ProtoValidator {
  private readonly fieldMaps = new Map<Type, Map<string, Field>>();

  constructor(readonly root: Root) {}

  /** Validates `json` as message `typeName` and round-trips it through protobufjs encode/decode. */
  validate(typeName: string, json: unknown): ValidationResult {
    const ctx: Context = { errors: [], warnings: [] };
    const type = this.root.lookupType(typeName);
    const normalized = this.message(type, json, '', ctx);
    if (ctx.errors.length === 0 && normalized !== undefined) {
      try {
        const message = type.fromObject(normalized as Record<string, unknown>);
        const problem = type.verify(message);
        if (problem) ctx.errors.push(`(protobufjs verify): ${problem}`);
        type.decode(type.encode(message).finish());
      } catch (error) {
        ctx.errors.push(`(protobufjs encode): ${(error as Error).message}`);
      }
    }
    return ctx;
  }

  private fields(type: Type): Map<string, Field> {
    let map = this.fieldMaps.get(type);
    if (!map) {
      map = new Map();
      for (const field of type.fieldsArray) {
        map.set(field.name, field);
        map.set(field.options?.json_name as string ?? camel(field.name), field);
      }
      this.fieldMaps.set(type, map);
    }
    return map;
  }

  /** Returns the protobufjs-ready object for a message value, or undefined after recording errors. */
  private message(type: Type, value: unknown, path: string, ctx: Context): unknown {
    const name = fullName(type);
    const special = this.wellKnown(name, type, value, path, ctx);
    if (special !== NOT_SPECIAL) return special;
    if (!isObject(value)) {
      ctx.errors.push(`${path || '(root)'}: must be an object (${name}), got ${describe(value)}`);
      return undefined;
    }
    const fields = this.fields(type);
    const out: Record<string, unknown> = {};
    const given = new Map<Field, unknown>();
    for (const [key, raw] of Object.entries(value)) {
      const field = fields.get(key);
      const at = path ? `${path}.${key}` : key;
      if (!field) {
        ctx.errors.push(`${at}: unknown field "${key}" in ${name}${suggest(key, type)}`);
        continue;
      }
      if (given.has(field)) {
        ctx.errors.push(`${at}: field "${field.name}" given twice`);
        continue;
      }
      if (raw === null && fullName(field.resolvedType ?? type) !== 'google.protobuf.Value') continue; // null = unset
      given.set(field, raw);
      if (field.options?.deprecated === true) ctx.warnings.push(`${at}: deprecated field in ${name}`);
      const normalized = this.fieldValue(field, raw, at, ctx);
      if (normalized !== undefined) out[field.name] = normalized;
    }
    for (const oneof of type.oneofsArray) {
      const set = oneof.fieldsArray.filter((field) => given.has(field));
      if (set.length > 1) ctx.errors.push(`${path || '(root)'}: only one of ${set.map((f) => f.name).join(', ')} may be set (oneof ${oneof.name})`);
      if (set.length === 0 && oneofRequired(oneof)) {
        ctx.errors.push(`${path || '(root)'}: one of ${oneof.fieldsArray.map((f) => f.name).join(', ')} is required (oneof ${oneof.name})`);
      }
    }
    for (const field of type.fieldsArray) this.applyFieldRules(field, given.has(field), given.get(field), out[field.name], path, ctx);
    return out;
  }

  private fieldValue(field: Field, raw: unknown, path: string, ctx: Context): unknown {
    if (field.map) {
      if (!isObject(raw)) {
        ctx.errors.push(`${path}: must be an object (map), got ${describe(raw)}`);
        return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(raw)) {
        this.mapKey((field as unknown as MapField).keyType, key, `${path}["${key}"]`, ctx);
        out[key] = this.single(field, item, `${path}["${key}"]`, ctx);
      }
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(raw)) {
        ctx.errors.push(`${path}: must be a list, got ${describe(raw)}`);
        return undefined;
      }
      return raw.map((item, index) => {
        if (item === null) {
          ctx.errors.push(`${path}[${index}]: null is not allowed in a list`);
          return undefined;
        }
        return this.single(field, item, `${path}[${index}]`, ctx);
      });
    }
    return this.single(field, raw, path, ctx);
  }

  private single(field: Field, raw: unknown, path: string, ctx: Context): unknown {
    const resolved = field.resolvedType;
    if (resolved && 'fieldsArray' in resolved) return this.message(resolved as Type, raw, path, ctx);
    if (resolved) return enumValue(resolved as Enum, raw, path, ctx);
    return scalar(field.type, raw, path, ctx);
  }

  private mapKey(keyType: string, key: string, path: string, ctx: Context): void {
    if (keyType === 'string') return;
    if (keyType === 'bool') {
      if (key !== 'true' && key !== 'false') ctx.errors.push(`${path}: map key must be "true" or "false"`);
      return;
    }
    scalar(keyType, key, path, ctx);
  }

  private wellKnown(name: string, type: Type, value: unknown, path: string, ctx: Context): unknown {
    const at = path || '(root)';
    switch (name) {
      case 'google.protobuf.Duration': {
        const parsed = typeof value === 'string' ? parseDuration(value) : undefined;
        if (!parsed) {
          ctx.errors.push(`${at}: must be a duration string such as "1s" or "0.250s", got ${describe(value)}`);
          return undefined;
        }
        return { seconds: Number(parsed.seconds), nanos: parsed.nanos };
      }
      case 'google.protobuf.Timestamp': {
        const ms = typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(value) ? Date.parse(value) : NaN;
        if (Number.isNaN(ms)) {
          ctx.errors.push(`${at}: must be an RFC 3339 timestamp string, got ${describe(value)}`);
          return undefined;
        }
        return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
      }
      case 'google.protobuf.FieldMask':
        if (typeof value !== 'string') {
          ctx.errors.push(`${at}: must be a field mask string, got ${describe(value)}`);
          return undefined;
        }
        return { paths: value === '' ? [] : value.split(',') };
      case 'google.protobuf.Empty':
        if (!isObject(value) || Object.keys(value).length > 0) ctx.errors.push(`${at}: must be {} (Empty)`);
        return {};
      case 'google.protobuf.Struct':
        if (!isObject(value)) {
          ctx.errors.push(`${at}: must be an object (Struct), got ${describe(value)}`);
          return undefined;
        }
        return { fields: Object.fromEntries(Object.entries(value).map(([key, item]) => [key, jsonValue(item)])) };
      case 'google.protobuf.Value':
        return jsonValue(value);
      case 'google.protobuf.ListValue':
        if (!Array.isArray(value)) {
          ctx.errors.push(`${at}: must be a list (ListValue), got ${describe(value)}`);
          return undefined;
        }
        return { values: value.map(jsonValue) };
      case 'google.protobuf.Any':
        return this.any(value, at, ctx);
      default:
        if (WRAPPERS.has(name)) {
          const inner = type.fieldsById[1] as Field;
          const result = scalar(inner.type, value, at, ctx);
          return result === undefined ? undefined : { value: result };
        }
        return NOT_SPECIAL;
    }
  }

  private any(value: unknown, path: string, ctx: Context): unknown {
    if (!isObject(value)) {
      ctx.errors.push(`${path}: must be an object with "@type" (Any), got ${describe(value)}`);
      return undefined;
    }
    const url = value['@type'];
    if (typeof url !== 'string' || !/^[^/]+(\/[^/]+)*\/[A-Za-z_][\w.]*$/.test(url)) {
      ctx.errors.push(`${path}: "@type" must be a type URL such as "type.googleapis.com/envoy.config.cluster.v3.Cluster", got ${describe(url)}`);
      return undefined;
    }
    const typeName = url.slice(url.lastIndexOf('/') + 1);
    let embedded: Type;
    try {
      embedded = this.root.lookupType(typeName);
    } catch {
      ctx.errors.push(`${path}: "@type" names an unknown message type "${typeName}"`);
      return undefined;
    }
    const rest = Object.fromEntries(Object.entries(value).filter(([key]) => key !== '@type'));
    const isSpecial = this.wellKnown(fullName(embedded), embedded, {}, '', { errors: [], warnings: [] }) !== NOT_SPECIAL;
    const inner = isSpecial
      ? Object.keys(rest).length === 1 && 'value' in rest
        ? this.message(embedded, rest.value, `${path}.value`, ctx)
        : (ctx.errors.push(`${path}: an Any of ${typeName} must be {"@type": ..., "value": ...}`), undefined)
      : this.message(embedded, rest, path, ctx);
    if (inner === undefined) return undefined;
    try {
      const bytes = embedded.encode(embedded.fromObject(inner as Record<string, unknown>)).finish();
      return { type_url: url, value: bytes };
    } catch (error) {
      ctx.errors.push(`${path}: could not encode ${typeName}: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** protoc-gen-validate rules of one field (the subset Envoy's configs use). */
  private applyFieldRules(field: Field, isSet: boolean, raw: unknown, normalized: unknown, path: string, ctx: Context): void {
    const rules = rulesOf(field);
    const at = path ? `${path}.${field.name}` : field.name;
    if (!rules) return;
    const inOneof = field.partOf !== null && field.partOf !== undefined;
    if (field.map) {
      const count = isSet && isObject(raw) ? Object.keys(raw).length : 0;
      const map = rules.map as Rules | undefined;
      if (map?.min_pairs !== undefined && count < Number(map.min_pairs)) ctx.errors.push(`${at}: needs at least ${map.min_pairs} entries`);
      if (map?.max_pairs !== undefined && count > Number(map.max_pairs)) ctx.errors.push(`${at}: allows at most ${map.max_pairs} entries`);
      return;
    }
    if (field.repeated) {
      const items = isSet && Array.isArray(raw) ? raw : [];
      const repeated = rules.repeated as Rules | undefined;
      if (repeated?.min_items !== undefined && items.length < Number(repeated.min_items)) ctx.errors.push(`${at}: needs at least ${repeated.min_items} item(s)`);
      if (repeated?.max_items !== undefined && items.length > Number(repeated.max_items)) ctx.errors.push(`${at}: allows at most ${repeated.max_items} item(s)`);
      if (repeated?.unique && new Set(items.map((item) => JSON.stringify(item))).size !== items.length) ctx.errors.push(`${at}: items must be unique`);
      if (repeated?.items) items.forEach((item, index) => applyValueRules(field, repeated.items as Rules, item, `${at}[${index}]`, ctx));
      return;
    }
    const isMessage = field.resolvedType !== null && 'fieldsArray' in (field.resolvedType as object);
    if (isMessage) {
      if (!isSet) {
        if (inOneof) return; // PGV checks oneof members only when they are the one set
        const required = rules.message?.required || rules.duration?.required || rules.timestamp?.required || rules.any?.required;
        if (required) ctx.errors.push(`${at}: is required`);
        return;
      }
      applyValueRules(field, rules, raw, at, ctx, normalized);
      return;
    }
    // Scalars: PGV checks the (default) value even when absent, except for unset oneof members and proto3 optionals.
    if (!isSet && inOneof) return;
    applyValueRules(field, rules, isSet ? raw : defaultOf(field), at, ctx);
  }
}

const NOT_SPECIAL = Symbol('not special');

function oneofRequired(oneof: protobuf.OneOf): boolean {
  const parsed = (oneof as unknown as { parsedOptions?: Record<string, unknown>[] | null }).parsedOptions ?? [];
  return parsed.some((entry) => entry['(validate.required)'] === true) || oneof.options?.['(validate.required)'] === true;
}

function rulesOf(field: Field): Rules | null {
  const parsed = (field as unknown as { parsedOptions?: Record<string, unknown>[] | null }).parsedOptions ?? [];
  let rules: Rules | null = null;
  for (const entry of parsed) {
    const value = entry['(validate.rules)'];
    if (isObject(value)) rules = { ...(rules ?? {}), ...value };
  }
  return rules;
}

function defaultOf(field: Field): unknown {
  if (field.resolvedType) {
    const values = (field.resolvedType as Enum).values;
    return Object.keys(values).find((key) => values[key] === 0) ?? 0;
  }
  switch (field.type) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    default:
      return 0;
  }
}

const NUMERIC = new Set(['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);

/** Applies one field's (or one item's) rules to a present value. */
function applyValueRules(field: Field, rules: Rules, raw: unknown, at: string, ctx: Context, normalized?: unknown): void {
  const wrapped = field.resolvedType ? fullName(field.resolvedType as Type) : '';
  for (const [kind, spec] of Object.entries(rules)) {
    if (!isObject(spec)) continue;
    if (spec.ignore_empty && (raw === '' || raw === 0 || raw === '0' || raw === false)) continue;
    if (kind === 'duration' && wrapped === 'google.protobuf.Duration') {
      const value = typeof raw === 'string' ? parseDuration(raw) : undefined;
      if (!value) continue;
      const nanos = value.seconds * 1_000_000_000n + BigInt(value.nanos) * (value.negative ? -1n : 1n);
      const bound = (b: unknown) => (isObject(b) ? BigInt(Number(b.seconds ?? 0)) * 1_000_000_000n + BigInt(Number(b.nanos ?? 0)) : null);
      const gt = bound(spec.gt), gte = bound(spec.gte), lt = bound(spec.lt), lte = bound(spec.lte);
      if (gt !== null && !(nanos > gt)) ctx.errors.push(`${at}: must be longer than ${fmtNanos(gt)} (got ${raw as string})`);
      if (gte !== null && !(nanos >= gte)) ctx.errors.push(`${at}: must be at least ${fmtNanos(gte)} (got ${raw as string})`);
      if (lt !== null && !(nanos < lt)) ctx.errors.push(`${at}: must be shorter than ${fmtNanos(lt)} (got ${raw as string})`);
      if (lte !== null && !(nanos <= lte)) ctx.errors.push(`${at}: must be at most ${fmtNanos(lte)} (got ${raw as string})`);
    } else if (NUMERIC.has(kind)) {
      const value = Number(raw);
      if (raw === undefined || Number.isNaN(value)) continue;
      const check = (ok: boolean, text: string) => ok || ctx.errors.push(`${at}: must be ${text} (got ${String(raw)})`);
      if (spec.const !== undefined) check(value === Number(spec.const), `${spec.const}`);
      const gt = spec.gt !== undefined ? Number(spec.gt) : undefined;
      const lt = spec.lt !== undefined ? Number(spec.lt) : undefined;
      if (gt !== undefined && lt !== undefined && lt < gt) {
        check(value > gt || value < lt, `> ${gt} or < ${lt}`); // PGV: an inverted range means "outside"
      } else {
        if (gt !== undefined) check(value > gt, `> ${gt}`);
        if (lt !== undefined) check(value < lt, `< ${lt}`);
      }
      if (spec.gte !== undefined) check(value >= Number(spec.gte), `>= ${spec.gte}`);
      if (spec.lte !== undefined) check(value <= Number(spec.lte), `<= ${spec.lte}`);
      if (Array.isArray(spec.in)) check(spec.in.map(Number).includes(value), `one of ${spec.in.join(', ')}`);
      if (Array.isArray(spec.not_in)) check(!spec.not_in.map(Number).includes(value), `none of ${spec.not_in.join(', ')}`);
    } else if (kind === 'string' && typeof raw === 'string') {
      stringRules(spec, raw, at, ctx);
    } else if (kind === 'bytes' && typeof raw === 'string') {
      const length = Buffer.from(raw, 'base64').length;
      if (spec.min_len !== undefined && length < Number(spec.min_len)) ctx.errors.push(`${at}: needs at least ${spec.min_len} byte(s)`);
      if (spec.max_len !== undefined && length > Number(spec.max_len)) ctx.errors.push(`${at}: allows at most ${spec.max_len} byte(s)`);
    } else if (kind === 'enum' && field.resolvedType && !('fieldsArray' in field.resolvedType)) {
      const values = (field.resolvedType as Enum).values;
      const number = typeof raw === 'number' ? raw : values[raw as string];
      const list = (key: string) => (Array.isArray(spec[key]) ? (spec[key] as unknown[]) : spec[key] !== undefined ? [spec[key]] : null);
      const inList = list('in'), notIn = list('not_in');
      if (spec.const !== undefined && number !== Number(spec.const)) ctx.errors.push(`${at}: must be enum value ${spec.const}`);
      if (inList && !inList.map(Number).includes(number as number)) ctx.errors.push(`${at}: enum value not allowed here`);
      if (notIn && notIn.map(Number).includes(number as number)) ctx.errors.push(`${at}: enum value ${String(raw)} is not allowed here`);
    } else if (kind === 'bool' && spec.const !== undefined && raw !== spec.const) {
      ctx.errors.push(`${at}: must be ${String(spec.const)}`);
    } else if (kind === 'any' && isObject(raw) && normalized !== undefined) {
      const url = raw['@type'];
      const inList = Array.isArray(spec.in) ? spec.in : spec.in !== undefined ? [spec.in] : null;
      if (inList && !inList.includes(url)) ctx.errors.push(`${at}: "@type" must be one of ${inList.join(', ')}`);
    }
  }
}

const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
const HEADER_VALUE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;

function stringRules(spec: Rules, value: string, at: string, ctx: Context): void {
  const chars = [...value].length;
  const bytes = Buffer.byteLength(value);
  const fail = (text: string) => ctx.errors.push(`${at}: ${text} (got ${JSON.stringify(value.slice(0, 80))})`);
  if (spec.const !== undefined && value !== spec.const) fail(`must be "${spec.const}"`);
  if (spec.len !== undefined && chars !== Number(spec.len)) fail(`must be ${spec.len} characters`);
  if (spec.min_len !== undefined && chars < Number(spec.min_len)) fail(`must be at least ${spec.min_len} character(s)`);
  if (spec.max_len !== undefined && chars > Number(spec.max_len)) fail(`must be at most ${spec.max_len} characters`);
  if (spec.min_bytes !== undefined && bytes < Number(spec.min_bytes)) fail(`must be at least ${spec.min_bytes} byte(s)`);
  if (spec.max_bytes !== undefined && bytes > Number(spec.max_bytes)) fail(`must be at most ${spec.max_bytes} bytes`);
  if (spec.prefix !== undefined && !value.startsWith(spec.prefix)) fail(`must start with "${spec.prefix}"`);
  if (spec.suffix !== undefined && !value.endsWith(spec.suffix)) fail(`must end with "${spec.suffix}"`);
  if (spec.contains !== undefined && !value.includes(spec.contains)) fail(`must contain "${spec.contains}"`);
  const inList = Array.isArray(spec.in) ? spec.in : spec.in !== undefined ? [spec.in] : null;
  if (inList && !inList.includes(value)) fail(`must be one of ${inList.map((v: string) => JSON.stringify(v)).join(', ')}`);
  const notIn = Array.isArray(spec.not_in) ? spec.not_in : spec.not_in !== undefined ? [spec.not_in] : null;
  if (notIn && notIn.includes(value)) fail('is not allowed');
  if (spec.pattern !== undefined) {
    try {
      if (!new RegExp(spec.pattern as string, 'u').test(value)) fail(`must match /${spec.pattern}/`);
    } catch {
      // An RE2 construct JavaScript cannot express: skip rather than guess.
    }
  }
  if (spec.well_known_regex === 'HTTP_HEADER_NAME' && value !== '') {
    if (spec.strict === false ? /[\0\r\n]/.test(value) : !HEADER_NAME.test(value)) fail('must be a valid HTTP header name');
  }
  if (spec.well_known_regex === 'HTTP_HEADER_VALUE') {
    if (spec.strict === false ? /[\0\r\n]/.test(value) : !HEADER_VALUE.test(value)) fail('must be a valid HTTP header value');
  }
  if (spec.ip && isIP(value) === 0) fail('must be an IP address');
  if (spec.ipv4 && isIP(value) !== 4) fail('must be an IPv4 address');
  if (spec.ipv6 && isIP(value) !== 6) fail('must be an IPv6 address');
  if (spec.hostname && !/^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(value)) fail('must be a host name');
}

function fmtNanos(nanos: bigint): string {
  return `${Number(nanos) / 1e9}s`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function suggest(key: string, type: Type): string {
  const names = type.fieldsArray.map((field) => field.name);
  const close = names.find((name) => distance(name, key) <= 2);
  return close ? ` (did you mean "${close}"?)` : '';
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

/** Proto3 JSON duration: optional sign, seconds, up to 9 fractional digits, "s". */
export function parseDuration(text: string): { seconds: bigint; nanos: number; negative: boolean } | undefined {
  const match = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!match) return undefined;
  const seconds = BigInt(match[2] as string);
  if (seconds > MAX_DURATION_SECONDS) return undefined;
  const nanos = Number((match[3] ?? '').padEnd(9, '0'));
  const negative = match[1] === '-';
  return { seconds: negative ? -seconds : seconds, nanos: negative ? -nanos : nanos, negative };
}

function jsonValue(value: unknown): Record<string, unknown> {
  if (value === null) return { nullValue: 0 };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(jsonValue) } };
  return { structValue: { fields: Object.fromEntries(Object.entries(value as object).map(([key, item]) => [key, jsonValue(item)])) } };
}

function enumValue(type: Enum, raw: unknown, path: string, ctx: Context): unknown {
  if (fullName(type) === 'google.protobuf.NullValue') return 0;
  if (typeof raw === 'string') {
    if (raw in type.values) return raw;
    ctx.errors.push(`${path}: "${raw}" is not a ${fullName(type)} value (one of ${Object.keys(type.values).join(', ')})`);
    return undefined;
  }
  if (typeof raw === 'number' && Number.isInteger(raw) && Object.values(type.values).includes(raw)) return raw;
  ctx.errors.push(`${path}: must be a ${fullName(type)} name (one of ${Object.keys(type.values).join(', ')}), got ${describe(raw)}`);
  return undefined;
}

function scalar(kind: string, raw: unknown, path: string, ctx: Context): unknown {
  const bad = (what: string) => {
    ctx.errors.push(`${path}: must be ${what}, got ${describe(raw)}`);
    return undefined;
  };
  switch (kind) {
    case 'string':
      return typeof raw === 'string' ? raw : bad('a string');
    case 'bool':
      return typeof raw === 'boolean' ? raw : bad('true or false');
    case 'bytes':
      return typeof raw === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(raw) ? raw : bad('base64 bytes');
    case 'double':
    case 'float': {
      if (typeof raw === 'number') return raw;
      if (raw === 'NaN' || raw === 'Infinity' || raw === '-Infinity') return Number(raw);
      if (typeof raw === 'string' && raw.trim() !== '' && !Number.isNaN(Number(raw))) return Number(raw);
      return bad('a number');
    }
    case 'int32':
    case 'sint32':
    case 'sfixed32':
    case 'uint32':
    case 'fixed32': {
      const [min, max] = kind.startsWith('u') || kind === 'fixed32' ? UINT32 : INT32;
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isInteger(value) || value < min || value > max) return bad(`an integer from ${min} to ${max}`);
      return value;
    }
    case 'int64':
    case 'sint64':
    case 'sfixed64':
    case 'uint64':
    case 'fixed64': {
      const [min, max] = kind.startsWith('u') || kind === 'fixed64' ? UINT64 : INT64;
      let value: bigint;
      if (typeof raw === 'number' && Number.isSafeInteger(raw)) value = BigInt(raw);
      else if (typeof raw === 'string' && /^-?\d+$/.test(raw)) value = BigInt(raw);
      else return bad('an integer (number or decimal string)');
      if (value < min || value > max) return bad(`an integer from ${min} to ${max}`);
      return value.toString();
    }
    default:
      return bad(`a value of type ${kind}`);
  }
}

type Json = Record<string, unknown>;
const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isObject) : []);
const obj = (value: unknown): Json => (isObject(value) ? value : {});

function socketAddresses(assignment: Json): { path: string; address: Json }[] {
  const found: { path: string; address: Json }[] = [];
  list(assignment.endpoints).forEach((locality, l) =>
    list(locality.lb_endpoints).forEach((lb, e) => {
      const endpoint = obj(lb.endpoint);
      const base = `endpoints[${l}].lb_endpoints[${e}].endpoint`;
      found.push({ path: `${base}.address`, address: obj(obj(endpoint.address).socket_address) });
      const check = obj(endpoint.health_check_config);
      if (check.address) found.push({ path: `${base}.health_check_config.address`, address: obj(obj(check.address).socket_address) });
    }),
  );
  return found;
}

/** Envoy's own rules for a ClusterLoadAssignment that PGV does not express (EDS/STATIC addresses must be IPs). */
export function envoyLoadAssignmentChecks(assignment: unknown, path = ''): string[] {
  const errors: string[] = [];
  for (const { path: at, address } of socketAddresses(obj(assignment))) {
    if (typeof address.address !== 'string' || isIP(address.address) === 0) {
      errors.push(`${path}${at}: Envoy needs an IP address here (STATIC/EDS clusters do not resolve names), got ${describe(address.address)}`);
    }
    if (address.port_value === undefined) errors.push(`${path}${at}: port_value is required`);
  }
  return errors;
}

/**
 * Envoy's load-time rules for a bootstrap that PGV annotations do not carry: REST config sources,
 * cluster references, IP-literal endpoints, health-check status ranges.
 *
 * @example envoyBootstrapChecks(parse(text)) // []
 */
export function envoyBootstrapChecks(bootstrap: unknown): string[] {
  const errors: string[] = [];
  const clusters = list(obj(obj(bootstrap).static_resources).clusters);
  const byName = new Map<string, Json>();
  clusters.forEach((cluster, index) => {
    const name = String(cluster.name);
    if (byName.has(name)) errors.push(`static_resources.clusters[${index}]: duplicate cluster name "${name}"`);
    byName.set(name, cluster);
  });
  clusters.forEach((cluster, index) => {
    const at = `static_resources.clusters[${index}]`;
    const type = cluster.type ?? 'STATIC';
    if (type === 'EDS' && !cluster.eds_cluster_config) errors.push(`${at}: type EDS needs eds_cluster_config`);
    if (type === 'STATIC') {
      if (!cluster.load_assignment) errors.push(`${at}: type STATIC needs load_assignment`);
      else errors.push(...envoyLoadAssignmentChecks(cluster.load_assignment, `${at}.load_assignment.`));
    }
    const source = obj(obj(obj(cluster.eds_cluster_config).eds_config).api_config_source);
    if (Object.keys(source).length > 0) {
      const sourceAt = `${at}.eds_cluster_config.eds_config.api_config_source`;
      const names = Array.isArray(source.cluster_names) ? (source.cluster_names as string[]) : [];
      if (source.api_type === 'REST') {
        if (names.length !== 1) errors.push(`${sourceAt}: REST needs exactly one cluster in cluster_names (put replicas in that cluster as endpoints)`);
        if (!source.refresh_delay) errors.push(`${sourceAt}: refresh_delay is required for REST`);
      }
      for (const name of names) {
        const target = byName.get(name);
        if (!target) errors.push(`${sourceAt}: cluster_names names "${name}", which is not a static cluster`);
        else if ((target.type ?? 'STATIC') !== 'STATIC') errors.push(`${sourceAt}: the config-source cluster "${name}" must be STATIC`);
      }
    }
    list(cluster.health_checks).forEach((check, c) => {
      const http = obj(check.http_health_check);
      for (const key of ['expected_statuses', 'retriable_statuses']) {
        list(http[key]).forEach((range, r) => {
          const start = Number(range.start ?? 0);
          const end = Number(range.end ?? 0);
          if (!(start >= 100 && end <= 600 && start < end)) {
            errors.push(`${at}.health_checks[${c}].http_health_check.${key}[${r}]: needs 100 <= start < end <= 600 (end is exclusive), got [${start}, ${end})`);
          }
        });
      }
    });
  });
  const referenced: { path: string; name: string }[] = [];
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) value.forEach((item, index) => walk(item, `${path}[${index}]`));
    else if (isObject(value)) {
      const url = typeof value['@type'] === 'string' ? value['@type'] : '';
      if (url.endsWith('.tcp_proxy.v3.TcpProxy') && typeof value.cluster === 'string') referenced.push({ path: `${path}.cluster`, name: value.cluster });
      if (path.endsWith('.route') && typeof value.cluster === 'string') referenced.push({ path: `${path}.cluster`, name: value.cluster });
      for (const [key, item] of Object.entries(value)) walk(item, `${path}.${key}`);
    }
  };
  walk(obj(bootstrap).static_resources, 'static_resources');
  for (const { path, name } of referenced) if (!byName.has(name)) errors.push(`${path}: names cluster "${name}", which is not defined`);
  return errors;
}
