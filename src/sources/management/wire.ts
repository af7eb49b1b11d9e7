// Management Node wire format: worker_vm status and configuration pages parsed into typed records.

import { DrainwatchError } from '../../core/errors.js';
import { sanitize } from '../../core/text.js';
import type { ManagementObservation } from '../../core/verdict.js';

export const STATUS_WORKER_VM_PATH = '/api/admin/status/v1/worker_vm/';
export const CONFIGURATION_WORKER_VM_PATH = '/api/admin/configuration/v1/worker_vm/';

/** The simulator's configuration-object field with each node's port (all its nodes share 127.0.0.1 in `ports` mode). */
export const SIMULATOR_PORT_FIELD = 'x_sim_port';

/** One status `worker_vm` object, reduced to what drainwatch uses. */
export type WorkerVmStatus = {
  id: number | string;
  name: string;
  nodeType: string;
  configurationId: number | null;
  maintenance: boolean;
  maintenanceReason: string;
  mediaLoad: number;
  mediaTokensUsed: number | null;
  maxMediaTokens: number | null;
  signalingCount: number | null;
};

/** One configuration `worker_vm` object, reduced to what discovery uses. */
export type WorkerVmConfiguration = {
  id: number;
  name: string;
  address: string;
  hostname: string;
  domain: string;
  /** From `port_field` when configured and present, else null (use `node_port`). */
  port: number | null;
};

/** One parsed page of a Tastypie-style list: `{"meta": {...}, "objects": [...]}`. */
export type Page<T> = { objects: T[]; next: string | null; totalCount: number | null };

export const malformed = (where: string, what: string) =>
  new DrainwatchError('DW_MANAGEMENT_MALFORMED', `Management Node answer from ${where} is malformed: ${what}; nothing was changed`);

type Fields = Record<string, unknown>;

function field<T>(object: Fields, key: string, index: number, where: string, check: (v: unknown) => v is T, what: string): T {
  const value = object[key];
  if (!check(value)) {
    const got = value === undefined ? 'missing' : `got ${JSON.stringify(value)?.slice(0, 40)}`;
    throw malformed(where, `objects[${index}].${key} must be ${what} (${got})`);
  }
  return value;
}

function optional<T>(object: Fields, key: string, index: number, where: string, check: (v: unknown) => v is T, what: string): T | null {
  const value = object[key];
  if (value === undefined || value === null) return null;
  return field(object, key, index, where, check, what);
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isId = (v: unknown): v is number | string => (typeof v === 'number' && Number.isInteger(v)) || isNonEmpty(v);
const isIntId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function parseEnvelope(body: unknown, where: string): { objects: Fields[]; next: string | null; totalCount: number | null } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw malformed(where, 'expected a JSON object with "meta" and "objects"');
  const { meta, objects } = body as { meta?: unknown; objects?: unknown };
  if (!Array.isArray(objects)) throw malformed(where, '"objects" is missing or not a list');
  if (typeof meta !== 'object' || meta === null) throw malformed(where, '"meta" is missing or not an object');
  const { next, total_count: total } = meta as { next?: unknown; total_count?: unknown };
  if (next !== null && next !== undefined && typeof next !== 'string') throw malformed(where, '"meta.next" must be a URL or null');
  objects.forEach((object, index) => {
    if (typeof object !== 'object' || object === null || Array.isArray(object)) throw malformed(where, `objects[${index}] is not an object`);
  });
  return { objects: objects as Fields[], next: next || null, totalCount: isCount(total) ? total : null };
}

/**
 * Parses one page of `/api/admin/status/v1/worker_vm/`. Required per object: `id`, `name`, `node_type`,
 * `maintenance_mode`, `media_load`; the counters are optional but must be numbers when present.
 *
 * @example parseStatusPage(JSON.parse(text), url).objects[0]?.mediaLoad
 */
export function parseStatusPage(body: unknown, where: string): Page<WorkerVmStatus> {
  const envelope = parseEnvelope(body, where);
  const objects = envelope.objects.map((object, i): WorkerVmStatus => ({
    id: field(object, 'id', i, where, isId, 'an id'),
    name: field(object, 'name', i, where, isNonEmpty, 'a non-empty string'),
    nodeType: field(object, 'node_type', i, where, isString, 'a string such as CONFERENCING'),
    configurationId: optional(object, 'configuration_id', i, where, isIntId, 'an integer'),
    maintenance: field(object, 'maintenance_mode', i, where, isBool, 'true or false'),
    maintenanceReason: sanitize(optional(object, 'maintenance_mode_reason', i, where, isString, 'a string') ?? ''),
    mediaLoad: field(object, 'media_load', i, where, isCount, 'a number (percent)'),
    mediaTokensUsed: optional(object, 'media_tokens_used', i, where, isCount, 'a number'),
    maxMediaTokens: optional(object, 'max_media_tokens', i, where, isCount, 'a number'),
    signalingCount: optional(object, 'signaling_count', i, where, isCount, 'a number'),
  }));
  return { objects, next: envelope.next, totalCount: envelope.totalCount };
}

/**
 * Parses one page of `/api/admin/configuration/v1/worker_vm/`. Required per object: `id`, `name`, `address`.
 * `portField` names an optional integer field holding the node's traffic port (the simulator's `x_sim_port`).
 */
export function parseConfigurationPage(body: unknown, where: string, portField: string | null = null): Page<WorkerVmConfiguration> {
  const envelope = parseEnvelope(body, where);
  const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65_535;
  const objects = envelope.objects.map((object, i): WorkerVmConfiguration => ({
    id: field(object, 'id', i, where, isIntId, 'an integer'),
    name: field(object, 'name', i, where, isNonEmpty, 'a non-empty string'),
    address: field(object, 'address', i, where, isNonEmpty, 'an address'),
    hostname: optional(object, 'hostname', i, where, isString, 'a string') ?? '',
    domain: optional(object, 'domain', i, where, isString, 'a string') ?? '',
    port: portField ? optional(object, portField, i, where, isPort, 'a port from 1 to 65535') : null,
  }));
  return { objects, next: envelope.next, totalCount: envelope.totalCount };
}

/**
 * Calls still on a node: the signalling count, and at least 1 while any media token is in use
 * (a node is empty only when both are zero). Null when the Management Node gives neither.
 *
 * @example callsFrom({ signalingCount: 0, mediaTokensUsed: 3 }) // 1
 */
export function callsFrom(status: Pick<WorkerVmStatus, 'signalingCount' | 'mediaTokensUsed'>): number | null {
  const { signalingCount, mediaTokensUsed } = status;
  if (signalingCount === null && mediaTokensUsed === null) return null;
  const signalling = Math.round(signalingCount ?? 0);
  return Math.max(signalling, (mediaTokensUsed ?? 0) > 0 ? 1 : 0);
}

/** The observation the state core records for one status object. */
export function observationFrom(status: WorkerVmStatus, at: number): ManagementObservation {
  return {
    maintenance: status.maintenance,
    reason: status.maintenanceReason,
    load: Math.round(Math.min(100, status.mediaLoad)),
    calls: callsFrom(status),
    at,
    stale: false,
  };
}
