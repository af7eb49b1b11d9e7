// Per-node state of the simulated fleet: phase, load, calls, injected faults, counters, and input validation.

import type { Server, Socket } from 'node:net';
import { badInput } from './errors.js';

/**
 * Lifecycle phase of a simulated Conferencing Node.
 * - `up`: status 200; `maintenance`: status 503 with the reason;
 * - `booting`: accepts TCP but never answers; `rebooting`/`down`: not listening (ECONNREFUSED).
 */
export type NodePhase = 'up' | 'maintenance' | 'booting' | 'rebooting' | 'down';

export const NODE_PHASES: readonly NodePhase[] = ['up', 'maintenance', 'booting', 'rebooting', 'down'];

/** Default maintenance reason, as a real node words it. */
export const DEFAULT_MAINTENANCE_REASON = 'Node is in maintenance mode';

/** Version string the simulated nodes report unless told otherwise. */
export const DEFAULT_VERSION = '36.1.0.87634.0.0';

/**
 * Faults injected into a node's status endpoint (`/api/client/v2/status`); all optional.
 * Order of precedence: `reset`, `hang`, then `latency_ms` delays whatever comes next:
 * `status`, `non_json`, `huge_body`, `trickle`, else the phase's normal answer.
 */
export type NodeFaults = {
  /** Added delay (ms) before answering. */
  latency_ms?: number;
  /** Accept the request and never answer it. */
  hang?: boolean;
  /** Destroy the connection with a TCP RST as soon as the request arrives. */
  reset?: boolean;
  /** Answer with this HTTP status (100 < code < 600) and a JSON error body. */
  status?: number;
  /** Answer 200 with an HTML (non-JSON) body. */
  non_json?: boolean;
  /** Answer 200 with a 10 MiB JSON body. */
  huge_body?: boolean;
  /** Answer 200 headers, then one body byte every 500 ms, forever. */
  trickle?: boolean;
};

/** How a node is described when the fleet is created or a node is added. */
export type NodeSpec = {
  name?: string;
  phase?: NodePhase;
  reason?: string;
  /** Media load percent 0..100 (what the Management Node reports outside maintenance). */
  load?: number;
  /** Ongoing calls (drives media_tokens_used and signaling_count). */
  calls?: number;
  /** Location name reported as `system_location` by the status API. */
  location?: string;
  version?: string;
};

/** A change to one node; every field optional, validated as a whole before anything applies. */
export type NodePatch = {
  phase?: NodePhase;
  reason?: string;
  load?: number;
  calls?: number;
  /** Replaces the node's whole fault set (`{}` or `null` clears it). */
  faults?: NodeFaults | null;
  version?: string;
};

/** Snapshot of one node, as returned by `Simulator.nodes()` / `node()`. */
export type NodeInfo = {
  name: string;
  /** Status API `id`. */
  id: number;
  /** Configuration API `id` (status API `configuration_id`). */
  configurationId: number;
  /** Loopback address the node listens on. */
  address: string;
  port: number;
  statusUrl: string;
  phase: NodePhase;
  /** Maintenance reason; null outside maintenance. */
  reason: string | null;
  load: number;
  calls: number;
  location: string;
  version: string;
  faults: NodeFaults;
  probeRequests: number;
  otherRequests: number;
};

/** Capacity of every simulated node (a medium-sized Conferencing Node). */
export const NODE_CAPACITY = {
  maxMediaTokens: 120,
  maxAudioCalls: 200,
  maxSdCalls: 80,
  maxHdCalls: 40,
  maxFullHdCalls: 20,
  /** Media tokens one (HD) call uses. */
  tokensPerCall: 3,
} as const;

/** Book-keeping for one accepted connection (the raw TCP socket, before any TLS). */
export type NodeConnection = {
  node: SimNode;
  raw: Socket;
  /** The socket the HTTP server reads (the TLSSocket under HTTPS); set on first request. */
  outer: Socket | undefined;
  /** Requests in flight on this connection. */
  active: number;
  /** True while an in-flight response is deliberately stuck (hang, trickle, booting). */
  stuck: boolean;
};

/** Mutable state of one simulated node; owned by the `Simulator`. */
export class SimNode {
  readonly name: string;
  readonly id: number;
  readonly configurationId: number;
  address: string;
  port = 0;
  phase: NodePhase;
  reason: string | null;
  load: number;
  calls: number;
  location: string;
  version: string;
  faults: NodeFaults = {};
  probeRequests = 0;
  otherRequests = 0;
  /**
   * The administrator's maintenance setting written through the configuration API, or null when never
   * written. It survives reboots: a node set to maintenance comes back up in maintenance.
   */
  maintenanceSetting: { on: boolean; reason: string } | null = null;
  /** Frozen `last_updated` while the node is not running (its Management Node record goes stale). */
  staleSince: Date | null = null;
  listener: Server | null = null;
  readonly connections = new Set<NodeConnection>();
  /** Serialises listen/unlisten so rapid phase changes cannot interleave. */
  queue: Promise<void> = Promise.resolve();
  removed = false;

  constructor(id: number, name: string, address: string, spec: NodeSpec) {
    this.id = id;
    this.configurationId = id;
    this.name = name;
    this.address = address;
    this.phase = spec.phase ?? 'up';
    this.reason = this.phase === 'maintenance' ? (spec.reason ?? DEFAULT_MAINTENANCE_REASON) : null;
    this.load = spec.load ?? 0;
    this.calls = spec.calls ?? 0;
    this.location = spec.location ?? 'London';
    this.version = spec.version ?? DEFAULT_VERSION;
    if (!runs(this.phase)) this.staleSince = new Date();
  }

  info(scheme: 'http' | 'https'): NodeInfo {
    return {
      name: this.name,
      id: this.id,
      configurationId: this.configurationId,
      address: this.address,
      port: this.port,
      statusUrl: statusUrl(scheme, this.address, this.port),
      phase: this.phase,
      reason: this.reason,
      load: this.load,
      calls: this.calls,
      location: this.location,
      version: this.version,
      faults: { ...this.faults },
      probeRequests: this.probeRequests,
      otherRequests: this.otherRequests,
    };
  }

  /** Applies an already validated phase change to the state (listeners are the fleet's job). */
  applyPhase(phase: NodePhase, reason: string | undefined): void {
    const wasRunning = runs(this.phase);
    this.phase = phase;
    this.reason = phase === 'maintenance' ? (reason ?? DEFAULT_MAINTENANCE_REASON) : null;
    if (wasRunning && !runs(phase)) this.staleSince = new Date();
    if (runs(phase)) this.staleSince = null;
  }
}

/** True when a node in this phase has a listening socket. */
export function listens(phase: NodePhase): boolean {
  return phase === 'up' || phase === 'maintenance' || phase === 'booting';
}

/** True when a node in this phase reports fresh data to the Management Node. */
function runs(phase: NodePhase): boolean {
  return phase === 'up' || phase === 'maintenance';
}

/** The status URL of a node; IPv6 literals get brackets. */
export function statusUrl(scheme: 'http' | 'https', address: string, port: number): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `${scheme}://${host}:${port}/api/client/v2/status`;
}

// ---------------------------------------------------------------------------
// Input validation. Everything reaching the fleet from the control API or from
// tests goes through here, so a bad value fails with one clear sentence.

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const FAULT_KEYS = ['latency_ms', 'hang', 'reset', 'status', 'non_json', 'huge_body', 'trickle'] as const;
const PATCH_KEYS = ['phase', 'reason', 'load', 'calls', 'faults', 'version'] as const;
const SPEC_KEYS = ['name', 'phase', 'reason', 'load', 'calls', 'location', 'version'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rejectUnknownKeys(value: Record<string, unknown>, allowed: readonly string[], what: string): void {
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw badInput(`${what} has unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; allowed: ${allowed.join(', ')}.`);
  }
}

/** Validates a node name (letters, digits, '.', '_', '-'; at most 63 characters). */
export function parseName(value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw badInput(`"name" must be 1-63 letters, digits, '.', '_' or '-' starting with a letter or digit; got ${JSON.stringify(value)}.`);
  }
  return value;
}

/** Validates a phase name. */
export function parsePhase(value: unknown): NodePhase {
  if (typeof value !== 'string' || !(NODE_PHASES as readonly string[]).includes(value)) {
    throw badInput(`"phase" must be one of ${NODE_PHASES.join(', ')}; got ${JSON.stringify(value)}.`);
  }
  return value as NodePhase;
}

function parseIntegerIn(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badInput(`"${field}" must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

function parseText(field: string, value: unknown, max = 200): string {
  if (typeof value !== 'string' || value.length > max) {
    throw badInput(`"${field}" must be a string of at most ${max} characters; got ${JSON.stringify(value)}.`);
  }
  return value;
}

/** Validates a media load percent (integer 0..100). */
export function parseLoad(value: unknown): number {
  return parseIntegerIn('load', value, 0, 100);
}

/** Validates an ongoing-call count (integer 0..100000). */
export function parseCalls(value: unknown): number {
  return parseIntegerIn('calls', value, 0, 100_000);
}

/** Validates a fault set; `null`/`undefined` mean "no faults". Unknown keys are errors. */
export function parseFaults(value: unknown): NodeFaults {
  if (value === null || value === undefined) return {};
  if (!isRecord(value)) throw badInput(`"faults" must be an object; got ${JSON.stringify(value)}.`);
  rejectUnknownKeys(value, FAULT_KEYS, '"faults"');
  const faults: NodeFaults = {};
  for (const key of FAULT_KEYS) {
    const v = value[key];
    if (v === undefined || v === null || v === false) continue;
    if (key === 'latency_ms') {
      const ms = parseIntegerIn('faults.latency_ms', v, 0, 600_000);
      if (ms > 0) faults.latency_ms = ms;
    } else if (key === 'status') {
      faults.status = parseIntegerIn('faults.status', v, 101, 599);
    } else {
      if (v !== true) throw badInput(`"faults.${key}" must be true or false; got ${JSON.stringify(v)}.`);
      faults[key] = true;
    }
  }
  return faults;
}

/** Validates a node patch as a whole (nothing applies unless everything is valid). */
export function parsePatch(value: unknown): NodePatch {
  if (!isRecord(value)) throw badInput(`the body must be a JSON object; got ${JSON.stringify(value)}.`);
  rejectUnknownKeys(value, PATCH_KEYS, 'the node change');
  const patch: NodePatch = {};
  if (value.phase !== undefined) patch.phase = parsePhase(value.phase);
  if (value.reason !== undefined) {
    patch.reason = parseText('reason', value.reason);
    if ((patch.phase ?? 'maintenance') !== 'maintenance') {
      throw badInput(`"reason" only applies to phase "maintenance"; got phase ${JSON.stringify(patch.phase)}.`);
    }
  }
  if (value.load !== undefined) patch.load = parseLoad(value.load);
  if (value.calls !== undefined) patch.calls = parseCalls(value.calls);
  if (value.faults !== undefined) patch.faults = parseFaults(value.faults);
  if (value.version !== undefined) patch.version = parseText('version', value.version, 40);
  return patch;
}

/** Validates a node description for creation. */
export function parseSpec(value: unknown): NodeSpec {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw badInput(`a node must be a JSON object; got ${JSON.stringify(value)}.`);
  rejectUnknownKeys(value, SPEC_KEYS, 'the node');
  const spec: NodeSpec = {};
  if (value.name !== undefined) spec.name = parseName(value.name);
  if (value.phase !== undefined) spec.phase = parsePhase(value.phase);
  if (value.reason !== undefined) spec.reason = parseText('reason', value.reason);
  if (value.load !== undefined) spec.load = parseLoad(value.load);
  if (value.calls !== undefined) spec.calls = parseCalls(value.calls);
  if (value.location !== undefined) spec.location = parseText('location', value.location, 100);
  if (value.version !== undefined) spec.version = parseText('version', value.version, 40);
  return spec;
}
