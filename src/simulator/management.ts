// Simulated Pexip Management Node: paginated worker_vm status and configuration APIs with Basic auth and faults.

import { timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { badInput } from './errors.js';
import { LoopbackServer } from './loopback-server.js';
import { parseWriteBody, readWriteBody } from './management-writes.js';
import type { MaintenanceChange, ManagementWrite } from './management-writes.js';
import { NODE_CAPACITY } from './sim-node.js';
import type { SimNode } from './sim-node.js';

export const STATUS_WORKER_VM_PATH = '/api/admin/status/v1/worker_vm/';
export const CONFIG_WORKER_VM_PATH = '/api/admin/configuration/v1/worker_vm/';
const SYSTEM_LOCATION_URI = '/api/admin/configuration/v1/system_location/1/';

/** Options of the simulated Management Node. */
export type ManagementOptions = {
  /** Loopback port (default 0: pick a free one). */
  port?: number;
  /** Page size when the request has no `limit` (default 20, like Pexip). */
  pageSize?: number;
  /** When both are set, requests need HTTP Basic auth with these credentials. */
  username?: string;
  password?: string;
  /** Serve HTTPS with the simulator's certificate (default false: plain HTTP). */
  tls?: boolean;
  /** Domain reported by the configuration API (default "sim.test"). */
  domain?: string;
};

/** Faults of the Management Node, applied to every API request. */
export type ManagementFaults = {
  /** Added delay (ms) before answering. */
  latency_ms?: number;
  /** Answer every request with this HTTP status and a JSON error body. */
  status?: number;
  /** Answer 200 with a truncated (unparseable) JSON body. */
  malformed_json?: boolean;
  /** Answer every write (PATCH/PUT) with this HTTP status, changing nothing; reads are unaffected. */
  write_status?: number;
};

const FAULT_KEYS = ['latency_ms', 'status', 'malformed_json', 'write_status'] as const;

/** Validates a Management Node fault set; `null`/`undefined` clear it. */
export function parseManagementFaults(value: unknown): ManagementFaults {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(`"faults" must be an object; got ${JSON.stringify(value)}.`);
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !(FAULT_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) throw badInput(`"faults" has unknown field(s) ${unknown.join(', ')}; allowed: ${FAULT_KEYS.join(', ')}.`);
  const faults: ManagementFaults = {};
  const { latency_ms: latency, status, malformed_json: malformed, write_status: writeStatus } = record;
  if (latency !== undefined && latency !== null) {
    if (typeof latency !== 'number' || !Number.isInteger(latency) || latency < 0 || latency > 600_000) {
      throw badInput(`"faults.latency_ms" must be an integer from 0 to 600000; got ${JSON.stringify(latency)}.`);
    }
    if (latency > 0) faults.latency_ms = latency;
  }
  if (status !== undefined && status !== null) {
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 101 || status > 599) {
      throw badInput(`"faults.status" must be an integer from 101 to 599; got ${JSON.stringify(status)}.`);
    }
    faults.status = status;
  }
  if (writeStatus !== undefined && writeStatus !== null) {
    if (typeof writeStatus !== 'number' || !Number.isInteger(writeStatus) || writeStatus < 101 || writeStatus > 599) {
      throw badInput(`"faults.write_status" must be an integer from 101 to 599; got ${JSON.stringify(writeStatus)}.`);
    }
    faults.write_status = writeStatus;
  }
  if (malformed !== undefined && malformed !== null && malformed !== false) {
    if (malformed !== true) throw badInput(`"faults.malformed_json" must be true or false; got ${JSON.stringify(malformed)}.`);
    faults.malformed_json = true;
  }
  return faults;
}

/** Pexip's naive ISO-8601 UTC timestamp with microseconds: "2026-11-28T03:15:00.123000". */
export function pexipTimestamp(date: Date): string {
  return date.toISOString().replace('Z', '000');
}

/** One `worker_vm` object of the status API, as real Pexip shapes it (the fields drainwatch reads and more). */
export function statusObject(node: SimNode, now: Date): Record<string, unknown> {
  // A node not running keeps its configured setting in the record (it comes back in maintenance).
  const maintenance = node.phase === 'maintenance' || (node.maintenanceSetting?.on === true && node.phase !== 'up');
  return {
    id: node.id,
    name: node.name,
    node_type: 'CONFERENCING',
    system_location: node.location,
    configuration_id: node.configurationId,
    maintenance_mode: maintenance,
    maintenance_mode_reason: maintenance ? (node.reason ?? node.maintenanceSetting?.reason ?? '') : '',
    // Real nodes report 100% while in maintenance: "no capacity left", whatever the calls.
    media_load: maintenance ? 100 : node.load,
    media_tokens_used: node.calls * NODE_CAPACITY.tokensPerCall,
    max_media_tokens: NODE_CAPACITY.maxMediaTokens,
    max_audio_calls: NODE_CAPACITY.maxAudioCalls,
    max_sd_calls: NODE_CAPACITY.maxSdCalls,
    max_hd_calls: NODE_CAPACITY.maxHdCalls,
    max_full_hd_calls: NODE_CAPACITY.maxFullHdCalls,
    signaling_count: node.calls,
    sync_status: 'SYNCED',
    upgrade_status: 'IDLE',
    version: node.version,
    last_updated: pexipTimestamp(node.staleSince ?? now),
  };
}

/** One `worker_vm` object of the configuration API; `x_sim_port` is simulator-only (ports addressing). */
export function configurationObject(node: SimNode, domain: string): Record<string, unknown> {
  // The configuration record holds the administrator's setting, which survives reboots.
  const maintenance = node.maintenanceSetting ? node.maintenanceSetting.on : node.phase === 'maintenance';
  return {
    id: node.configurationId,
    name: node.name,
    hostname: node.name,
    domain,
    address: node.address,
    node_type: 'CONFERENCING',
    system_location: SYSTEM_LOCATION_URI,
    resource_uri: `${CONFIG_WORKER_VM_PATH}${node.configurationId}/`,
    maintenance_mode: maintenance,
    maintenance_mode_reason: node.maintenanceSetting ? node.maintenanceSetting.reason : maintenance ? (node.reason ?? '') : '',
    // Simulator-only: in "ports" addressing every node shares 127.0.0.1, so the port tells them apart.
    x_sim_port: node.port,
  };
}

type Page = { limit: number; offset: number } | { error: string };

function parsePage(query: URLSearchParams, pageSize: number): Page {
  const parse = (name: string, fallback: number): number | string => {
    const raw = query.get(name);
    if (raw === null || raw === '') return fallback;
    if (!/^\d+$/.test(raw)) return `Invalid ${name} '${raw}' provided. Please provide a non-negative integer.`;
    return Number(raw);
  };
  const limit = parse('limit', pageSize);
  const offset = parse('offset', 0);
  if (typeof limit === 'string') return { error: limit };
  if (typeof offset === 'string') return { error: offset };
  return { limit, offset };
}

/** Tastypie-style envelope; `limit=0` means "everything", as Tastypie does. */
export function paginate<T>(path: string, items: readonly T[], limit: number, offset: number): Record<string, unknown> {
  const total = items.length;
  const size = limit === 0 ? total : limit;
  const objects = items.slice(offset, offset + size);
  const link = (at: number): string => `${path}?limit=${limit}&offset=${at}`;
  return {
    meta: {
      limit,
      next: size > 0 && offset + size < total ? link(offset + size) : null,
      offset,
      previous: offset > 0 && size > 0 ? link(Math.max(0, offset - size)) : null,
      total_count: total,
    },
    objects,
  };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Applies a configuration write to a node (the fleet changes its phase and listener). */
export type ApplyMaintenance = (node: SimNode, change: MaintenanceChange) => Promise<void>;

/** The simulated Management Node; created and owned by the `Simulator`. */
export class ManagementNode {
  readonly pageSize: number;
  readonly domain: string;
  faults: ManagementFaults = {};
  requests = 0;
  /** Every PATCH/PUT received, answered or refused, in arrival order. */
  readonly writes: ManagementWrite[] = [];
  readonly #nodes: () => readonly SimNode[];
  readonly #apply: ApplyMaintenance;
  readonly #credentials: { username: string; password: string } | undefined;
  readonly #server: LoopbackServer;
  readonly #port: number;

  constructor(
    nodes: () => readonly SimNode[],
    options: ManagementOptions,
    tls: { key: string | Buffer; cert: string | Buffer } | undefined,
    apply: ApplyMaintenance = async () => undefined,
  ) {
    this.#nodes = nodes;
    this.#apply = apply;
    this.pageSize = options.pageSize ?? 20;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1) throw badInput(`"pageSize" must be a positive integer; got ${this.pageSize}.`);
    this.domain = options.domain ?? 'sim.test';
    this.#port = options.port ?? 0;
    if ((options.username === undefined) !== (options.password === undefined)) {
      throw badInput('the Management Node needs both "username" and "password", or neither.');
    }
    this.#credentials = options.username !== undefined && options.password !== undefined ? { username: options.username, password: options.password } : undefined;
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.#handle(req, res);
    if (options.tls === true) {
      if (!tls) throw badInput('the Management Node can only serve HTTPS when the simulator has TLS material.');
      this.#server = new LoopbackServer(createHttpsServer({ key: tls.key, cert: tls.cert }, handler), 'https');
    } else {
      this.#server = new LoopbackServer(createHttpServer(handler), 'http');
    }
  }

  listen(): Promise<void> {
    return this.#server.listen(this.#port);
  }

  get url(): string {
    return this.#server.url;
  }

  close(): Promise<void> {
    return this.#server.close();
  }

  destroy(): void {
    this.#server.destroy();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests += 1;
    const faults = { ...this.faults };
    const latency = faults.latency_ms ?? 0;
    if (latency > 0) {
      const timer = setTimeout(() => this.#answer(req, res, faults), latency);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    this.#answer(req, res, faults);
  }

  #answer(req: IncomingMessage, res: ServerResponse, faults: ManagementFaults): void {
    if (res.destroyed) return;
    if (req.method === 'PATCH' || req.method === 'PUT') {
      this.#write(req, res, faults).catch(() => res.destroy());
      return;
    }
    if (!this.#authorized(req)) {
      send(res, 401, { error: 'Authentication credentials were not provided or are invalid.' }, { 'www-authenticate': 'Basic realm="Pexip"' });
      return;
    }
    if (faults.status !== undefined) {
      send(res, faults.status, { error: `Simulated HTTP ${faults.status} fault` });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
    const kind = path.startsWith(STATUS_WORKER_VM_PATH) ? 'status' : path.startsWith(CONFIG_WORKER_VM_PATH) ? 'configuration' : undefined;
    if (kind === undefined) {
      send(res, 404, { error: `No API resource at ${url.pathname}` });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const allow = kind === 'configuration' ? 'GET, HEAD, PATCH, PUT' : 'GET, HEAD';
      send(res, 405, { error: `The simulator does not implement ${req.method ?? 'this method'} here.` }, { allow });
      return;
    }
    const base = kind === 'status' ? STATUS_WORKER_VM_PATH : CONFIG_WORKER_VM_PATH;
    const now = new Date();
    const toObject = (node: SimNode): Record<string, unknown> =>
      kind === 'status' ? statusObject(node, now) : configurationObject(node, this.domain);
    const nodes = [...this.#nodes()].sort((a, b) => a.id - b.id);
    const rest = path.slice(base.length);
    let body: unknown;
    if (rest === '') {
      const page = parsePage(url.searchParams, this.pageSize);
      if ('error' in page) {
        send(res, 400, { error: page.error });
        return;
      }
      body = paginate(base, nodes.map(toObject), page.limit, page.offset);
    } else {
      const id = /^(\d+)\/$/.exec(rest)?.[1];
      const node = id === undefined ? undefined : nodes.find((n) => (kind === 'status' ? n.id : n.configurationId) === Number(id));
      if (!node) {
        send(res, 404, { error: `No worker_vm at ${url.pathname}` });
        return;
      }
      body = toObject(node);
    }
    if (faults.malformed_json) {
      const text = JSON.stringify(body);
      // Cut mid-document: a parser must fail, not silently accept a partial list.
      const cut = text.slice(0, Math.max(1, Math.floor(text.length / 2))) + ',"obj';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(cut)) });
      res.end(cut);
      return;
    }
    send(res, 200, body);
  }

  /** PATCH/PUT on `configuration/v1/worker_vm/{id}/`: Basic auth, then the maintenance fields applied to the node. */
  async #write(req: IncomingMessage, res: ServerResponse, faults: ManagementFaults): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const id = /^(\d+)\/?$/.exec(url.pathname.startsWith(CONFIG_WORKER_VM_PATH) ? url.pathname.slice(CONFIG_WORKER_VM_PATH.length) : '')?.[1];
    const configurationId = id === undefined ? null : Number(id);
    const node = configurationId === null ? undefined : this.#nodes().find((n) => n.configurationId === configurationId);
    const text = await readWriteBody(req);
    const parsed = text === null ? null : parseWriteBody(text);
    const record = (status: number): void => {
      this.writes.push({ at, method: req.method ?? '', path: url.pathname, configurationId, node: node?.name ?? null, body: parsed?.body ?? null, status });
    };
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      record(status);
      if (res.destroyed) return;
      if (body === undefined) {
        res.writeHead(status, headers);
        res.end();
      } else send(res, status, body, headers);
    };
    if (!this.#authorized(req)) {
      answer(401, { error: 'Authentication credentials were not provided or are invalid.' }, { 'www-authenticate': 'Basic realm="Pexip"' });
      return;
    }
    const faultStatus = faults.write_status ?? faults.status;
    if (faultStatus !== undefined) {
      answer(faultStatus, { error: `Simulated HTTP ${faultStatus} fault` });
      return;
    }
    if (configurationId === null) {
      const known = url.pathname.startsWith(STATUS_WORKER_VM_PATH) || url.pathname === CONFIG_WORKER_VM_PATH.slice(0, -1) || url.pathname === CONFIG_WORKER_VM_PATH;
      if (known) answer(405, { error: `${req.method ?? ''} is only implemented on ${CONFIG_WORKER_VM_PATH}{id}/.` }, { allow: 'GET, HEAD' });
      else answer(404, { error: `No API resource at ${url.pathname}` });
      return;
    }
    if (!node) {
      answer(404, { error: `No worker_vm at ${url.pathname}` });
      return;
    }
    if (parsed === null) {
      answer(413, { error: 'The request body is too large.' });
      return;
    }
    if (!parsed.ok) {
      answer(400, { worker_vm: { error: parsed.error } });
      return;
    }
    await this.#apply(node, parsed.change);
    // Tastypie answers an accepted PATCH with 202 and a PUT with 204, both without a body.
    answer(req.method === 'PATCH' ? 202 : 204, undefined);
  }

  #authorized(req: IncomingMessage): boolean {
    if (!this.#credentials) return true;
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!match?.[1]) return false;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    // Evaluate both comparisons so timing does not reveal which part was wrong.
    const userOk = sameSecret(decoded.slice(0, colon), this.#credentials.username);
    const passOk = sameSecret(decoded.slice(colon + 1), this.#credentials.password);
    return userOk && passOk;
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}
