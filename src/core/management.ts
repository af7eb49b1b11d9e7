// Management Node client and poller: one paginated worker_vm sweep per interval, parsed into observations and discovered nodes.

import { Agent, request } from 'undici';
import { DrainwatchError, hasCode } from './errors.js';
import { sanitize } from './probe.js';
import { silentLogger } from './logger.js';
import type { Dispatcher } from 'undici';
import type { DrainwatchErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import type { ManagementObservation, NodeSpec } from './verdict.js';

export const STATUS_WORKER_VM_PATH = '/api/admin/status/v1/worker_vm/';
export const CONFIGURATION_WORKER_VM_PATH = '/api/admin/configuration/v1/worker_vm/';

/** The simulator's configuration-object field with each node's port (all its nodes share 127.0.0.1 in `ports` mode). */
export const SIMULATOR_PORT_FIELD = 'x_sim_port';

/** Largest response body accepted from the Management Node (a page of 1000 worker_vm objects is ~1 MiB). */
const BODY_LIMIT = 16 * 1024 * 1024;

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

const malformed = (where: string, what: string) =>
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

/**
 * Fills a status URL template. Placeholders: `{address}` (IPv6 in brackets), `{port}`, `{name}`,
 * `{hostname}`, `{domain}`, `{fqdn}` (hostname.domain, or the address when either is empty).
 *
 * @example fillTemplate('https://{address}:{port}/api/client/v2/status', { address: '10.0.0.5', port: 443, name: 'px01', hostname: '', domain: '' })
 */
export function fillTemplate(
  template: string,
  values: { address: string; port: number; name: string; hostname: string; domain: string },
): string {
  const host = values.address.includes(':') && !values.address.startsWith('[') ? `[${values.address}]` : values.address;
  const fqdn = values.hostname && values.domain ? `${values.hostname}.${values.domain}` : host;
  const table: Record<string, string> = {
    address: host,
    port: String(values.port),
    name: encodeURIComponent(values.name),
    hostname: values.hostname || host,
    domain: values.domain,
    fqdn,
  };
  return template.replace(/\{(address|port|name|hostname|domain|fqdn)\}/g, (_m, key: string) => table[key] ?? '');
}

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export type DiscoveryOptions = { nodePort: number; statusUrlTemplate: string };
export type DiscoveryResult = { nodes: NodeSpec[]; skipped: Array<{ name: string; why: string }> };

/**
 * The inventory from a sweep: CONFERENCING status objects joined on `configuration_id` with the
 * configuration objects for their `address` (and optional port). Objects that cannot be joined are skipped, with why.
 */
export function discoverNodes(
  statuses: readonly WorkerVmStatus[],
  configurations: readonly WorkerVmConfiguration[],
  options: DiscoveryOptions,
): DiscoveryResult {
  const byId = new Map(configurations.map((configuration) => [configuration.id, configuration]));
  const nodes: NodeSpec[] = [];
  const skipped: DiscoveryResult['skipped'] = [];
  const seen = new Set<string>();
  for (const status of statuses) {
    if (status.nodeType.toUpperCase() !== 'CONFERENCING') continue;
    if (!NODE_NAME.test(status.name)) {
      skipped.push({ name: status.name, why: 'name is not usable as a node name (letters, digits, ".", "_", "-")' });
      continue;
    }
    if (seen.has(status.name)) {
      skipped.push({ name: status.name, why: 'listed twice' });
      continue;
    }
    const configuration = status.configurationId === null ? undefined : byId.get(status.configurationId);
    if (!configuration) {
      skipped.push({ name: status.name, why: `no configuration object with id ${String(status.configurationId)}` });
      continue;
    }
    seen.add(status.name);
    const port = configuration.port ?? options.nodePort;
    const address = configuration.address;
    nodes.push({
      name: status.name,
      address,
      port,
      statusUrl: fillTemplate(options.statusUrlTemplate, { address, port, name: status.name, hostname: configuration.hostname, domain: configuration.domain }),
      source: 'discovered',
    });
  }
  return { nodes, skipped };
}

/**
 * Delay before the next sweep: the interval, doubled per consecutive failure, capped at
 * 8 intervals (and never above 5 minutes unless the interval itself is longer).
 *
 * @example backoffDelay(15_000, 2) // 60_000
 */
export function backoffDelay(intervalMs: number, failures: number): number {
  if (failures <= 0) return intervalMs;
  const cap = Math.max(intervalMs, Math.min(intervalMs * 8, 300_000));
  return Math.min(intervalMs * 2 ** Math.min(failures, 16), cap);
}

/** Strips user info from a URL for messages (credentials never belong in logs). */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '<invalid URL>';
  }
}

export type ManagementClientOptions = {
  /** Base URL, e.g. https://manager.example.com */
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** OAuth2 bearer token (instead of user and password). */
  token?: string | undefined;
  /** Where the secret came from, for messages (e.g. "the password from $DRAINWATCH_MGMT_PASSWORD"). */
  credentialHint?: string;
  /** Whole-request deadline per page. */
  timeoutMs: number;
  pageSize: number;
  maxPages: number;
  /** TLS settings shared with the prober: CA bundle contents and the skip-verification opt-in. */
  tls?: { ca?: string | Buffer | undefined; insecureSkipVerify?: boolean };
};

/**
 * Reads paginated worker_vm lists from a Management Node over one keep-alive connection.
 *
 * @example
 * const client = new ManagementClient({ url, username: 'admin', password, timeoutMs: 5000, pageSize: 100, maxPages: 100 });
 * const { objects } = await client.list(STATUS_WORKER_VM_PATH, parseStatusPage);
 */
export class ManagementClient {
  private readonly agent: Agent;
  private readonly authorization: string | undefined;
  requests = 0;

  constructor(private readonly options: ManagementClientOptions) {
    const tls = options.tls ?? {};
    this.agent = new Agent({
      connections: 1, // pages are fetched one after another: one connection is all a sweep needs
      keepAliveTimeout: 60_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: {
        timeout: options.timeoutMs,
        rejectUnauthorized: !tls.insecureSkipVerify,
        ...(tls.ca ? { ca: tls.ca } : {}),
      },
    });
    if (options.token) this.authorization = `Bearer ${options.token}`;
    else if (options.username !== undefined && options.password !== undefined) {
      this.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`, 'utf8').toString('base64')}`;
    }
  }

  /**
   * Follows `meta.next` from the first page until it is null, at most `maxPages` pages.
   * Objects are de-duplicated by id (offset pages can shift when nodes are added mid-sweep);
   * `consistent` is false when `total_count` changed between pages.
   */
  async list<T extends { id: number | string }>(
    path: string,
    parse: (body: unknown, where: string) => Page<T>,
  ): Promise<{ objects: T[]; pages: number; consistent: boolean }> {
    const first = new URL(path, this.options.url);
    first.searchParams.set('limit', String(this.options.pageSize));
    first.searchParams.set('offset', '0');
    const origin = first.origin;
    const objects = new Map<number | string, T>();
    let url: URL | null = first;
    let pages = 0;
    let total: number | null | undefined;
    let consistent = true;
    while (url) {
      if (pages >= this.options.maxPages) {
        throw new DrainwatchError(
          'DW_MANAGEMENT_MALFORMED',
          `Management Node list ${redact(first.toString())} has more than management.max_pages (${this.options.maxPages}) pages of ${this.options.pageSize}; raise max_pages or page_size. Nothing was changed`,
        );
      }
      const body = await this.getJson(url);
      const page = parse(body, redact(url.toString()));
      pages += 1;
      for (const object of page.objects) if (!objects.has(object.id)) objects.set(object.id, object);
      if (total === undefined) total = page.totalCount;
      else if (page.totalCount !== total) consistent = false;
      if (!page.next) break;
      let next: URL;
      try {
        next = new URL(page.next, url);
      } catch {
        throw malformed(redact(url.toString()), `"meta.next" is not a URL (${JSON.stringify(page.next).slice(0, 80)})`);
      }
      // Credentials go only to the configured origin, whatever a response says.
      if (next.origin !== origin) throw malformed(redact(url.toString()), `"meta.next" points to another origin (${next.origin})`);
      if (next.toString() === url.toString()) throw malformed(redact(url.toString()), '"meta.next" points to the same page');
      url = next;
    }
    return { objects: [...objects.values()], pages, consistent };
  }

  private async getJson(url: URL): Promise<unknown> {
    const where = redact(url.toString());
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    let response: Dispatcher.ResponseData;
    this.requests += 1;
    try {
      response = await request(url, {
        method: 'GET',
        dispatcher: this.agent,
        signal: deadline,
        headers: {
          accept: 'application/json',
          'user-agent': 'drainwatch',
          ...(this.authorization ? { authorization: this.authorization } : {}),
        },
      });
    } catch (error) {
      const what = deadline.aborted ? `no answer within ${this.options.timeoutMs}ms` : describeNetworkError(error);
      throw new DrainwatchError('DW_MANAGEMENT_NETWORK', `cannot reach the Management Node at ${where}: ${what}`, { cause: error });
    }
    const status = response.statusCode;
    if (status === 401 || status === 403) {
      await response.body.dump().catch(() => undefined);
      const who = this.options.token
        ? 'the bearer token'
        : this.options.username !== undefined
          ? `user "${this.options.username}"`
          : 'an anonymous request (no management.username configured)';
      const hint = this.options.credentialHint ? `; check ${this.options.credentialHint}` : '';
      const verb = status === 401 ? 'rejected the credentials of' : 'denied access to';
      throw new DrainwatchError('DW_MANAGEMENT_AUTH', `Management Node ${verb} ${who} at ${where} (HTTP ${status})${hint}`);
    }
    let text: string;
    try {
      text = await readLimited(response.body, BODY_LIMIT);
    } catch (error) {
      if (hasCode(error, 'DW_MANAGEMENT_MALFORMED')) throw malformed(where, (error as Error).message);
      const what = deadline.aborted ? `body not complete within ${this.options.timeoutMs}ms` : describeNetworkError(error);
      throw new DrainwatchError('DW_MANAGEMENT_NETWORK', `reading the answer of the Management Node at ${where} failed: ${what}`, { cause: error });
    }
    if (status < 200 || status > 299) {
      const detail = sanitize(text).slice(0, 120);
      throw new DrainwatchError('DW_MANAGEMENT_HTTP', `Management Node answered HTTP ${status} at ${where}${detail ? `: ${detail}` : ''}`);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw malformed(where, `not valid JSON (${(error as Error).message})`);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  async destroy(): Promise<void> {
    await this.agent.destroy();
  }
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new DrainwatchError('DW_MANAGEMENT_MALFORMED', `body larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const causeCode = typeof cause?.code === 'string' ? cause.code : undefined;
  const text = error.message || (typeof cause?.message === 'string' ? cause.message : '');
  const codes = [code, causeCode].filter((c): c is string => typeof c === 'string' && !text.includes(c));
  return sanitize([...new Set(codes), text].filter(Boolean).join(' ')) || 'network error';
}

/** What one successful sweep produced. */
export type SweepResult = {
  at: number;
  statuses: WorkerVmStatus[];
  /** The Management Node's view of each listed node, by name. */
  observations: Map<string, ManagementObservation>;
  /** max_media_tokens by node name (capacity for the ready-capacity warning), where known. */
  capacity: Map<string, number>;
  /** Discovered inventory (discover on), or null (discover off, or kept from the previous sweep). */
  discovered: NodeSpec[] | null;
  skipped: DiscoveryResult['skipped'];
  pages: number;
};

/** Result label of a sweep, bounded for metrics: ok, auth, http, malformed, network. */
export type SweepOutcome = 'ok' | 'auth' | 'http' | 'malformed' | 'network';

export function outcomeOf(error: unknown): SweepOutcome {
  const labels: Partial<Record<DrainwatchErrorCode, SweepOutcome>> = {
    DW_MANAGEMENT_AUTH: 'auth',
    DW_MANAGEMENT_HTTP: 'http',
    DW_MANAGEMENT_MALFORMED: 'malformed',
    DW_MANAGEMENT_NETWORK: 'network',
  };
  const code = (error as { code?: DrainwatchErrorCode } | null)?.code;
  return (code && labels[code]) || 'network';
}

export type ManagementPollerOptions = ManagementClientOptions & {
  intervalMs: number;
  discover: boolean;
  nodePort: number;
  statusUrlTemplate: string;
  /** Configuration-object field with the node's port (see SIMULATOR_PORT_FIELD), or null. */
  portField: string | null;
  clock?: () => number;
  logger?: Logger;
  /** Random source for the ±10% jitter of the sweep interval (tests pass a constant). */
  random?: () => number;
  /** After each good sweep. */
  onSweep(result: SweepResult): void;
  /** After each failed sweep: the error and the last good observations, marked stale. */
  onFailure(error: DrainwatchError, stale: Map<string, ManagementObservation>, failures: number): void;
};

export type PollerStatus = {
  lastSuccessAt: number | null;
  lastError: { code: string; message: string; at: number } | null;
  failures: number;
  stale: boolean;
  sweeps: number;
};

/**
 * Sweeps the Management Node every interval (back-off after failures) and hands the results on.
 * A failed sweep changes nothing: the last good data is handed back marked stale.
 *
 * @example
 * const poller = new ManagementPoller({ ...clientOptions, intervalMs: 15_000, discover: false, nodePort: 443,
 *   statusUrlTemplate, portField: null, onSweep: (r) => apply(r), onFailure: (e) => log(e) });
 * poller.start();
 * await poller.close();
 */
export class ManagementPoller {
  private readonly client: ManagementClient;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly random: () => number;
  private last = new Map<string, ManagementObservation>();
  private lastDiscovered: NodeSpec[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  private state: PollerStatus = { lastSuccessAt: null, lastError: null, failures: 0, stale: false, sweeps: 0 };

  constructor(private readonly options: ManagementPollerOptions) {
    this.client = new ManagementClient(options);
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
  }

  /** Sweeps at once, then every interval. */
  start(): void {
    if (this.stopped || this.timer || this.running) return;
    this.schedule(0);
  }

  status(): PollerStatus {
    return { ...this.state };
  }

  /** Requests sent to the Management Node so far (all pages of all sweeps). */
  get requests(): number {
    return this.client.requests;
  }

  /** One sweep now (also used by the timer). Resolves with the result, or rejects with the sweep's error after reporting it. */
  async sweep(): Promise<SweepResult> {
    const at = this.clock();
    try {
      const result = await this.fetchSweep(at);
      this.last = result.observations;
      this.state = { ...this.state, lastSuccessAt: at, failures: 0, stale: false, sweeps: this.state.sweeps + 1 };
      if (!this.stopped) this.options.onSweep(result);
      return result;
    } catch (caught) {
      const error = caught instanceof DrainwatchError
        ? caught
        : new DrainwatchError('DW_MANAGEMENT_NETWORK', `Management Node sweep failed: ${(caught as Error).message}`, { cause: caught });
      const failures = this.state.failures + 1;
      this.state = {
        ...this.state,
        failures,
        stale: this.last.size > 0,
        sweeps: this.state.sweeps + 1,
        lastError: { code: error.code, message: error.message, at },
      };
      const stale = new Map([...this.last].map(([name, observation]) => [name, { ...observation, stale: true }]));
      if (!this.stopped) this.options.onFailure(error, stale, failures);
      throw error;
    }
  }

  /** Stops sweeping; waits for a sweep in flight. Idempotent. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    await this.client.close().catch(() => undefined);
  }

  /** Stops sweeping and drops the connection now. */
  async destroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.client.destroy().catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.sweep()
        .catch(() => undefined)
        .finally(() => {
          this.running = null;
          const base = backoffDelay(this.options.intervalMs, this.state.failures);
          // ±10% jitter so several drainwatch instances do not sweep in lockstep.
          this.schedule(base * (0.9 + 0.2 * this.random()));
        });
    }, delayMs);
    this.timer.unref();
  }

  private async fetchSweep(at: number): Promise<SweepResult> {
    let statuses = await this.client.list(STATUS_WORKER_VM_PATH, parseStatusPage);
    if (!statuses.consistent) {
      // The list changed size mid-sweep; offset pages may have skipped a node. Read it once more.
      statuses = await this.client.list(STATUS_WORKER_VM_PATH, parseStatusPage);
    }
    const observations = new Map<string, ManagementObservation>();
    const capacity = new Map<string, number>();
    for (const status of statuses.objects) {
      observations.set(status.name, observationFrom(status, at));
      if (status.maxMediaTokens !== null && status.maxMediaTokens > 0) capacity.set(status.name, status.maxMediaTokens);
    }
    let discovered: NodeSpec[] | null = null;
    let skipped: DiscoveryResult['skipped'] = [];
    let pages = statuses.pages;
    if (this.options.discover) {
      const portField = this.options.portField;
      const configurations = await this.client.list(CONFIGURATION_WORKER_VM_PATH, (body, where) => parseConfigurationPage(body, where, portField));
      pages += configurations.pages;
      const found = discoverNodes(statuses.objects, configurations.objects, this.options);
      skipped = found.skipped;
      for (const skip of skipped) this.logger.warn({ node: skip.name, why: skip.why }, 'discovery skipped a Management Node entry');
      if (found.nodes.length === 0 && this.lastDiscovered.length > 0) {
        // An empty list from a Management Node that listed nodes before is far more likely a fault than a fleet gone.
        this.logger.warn({ kept: this.lastDiscovered.length }, 'Management Node listed no Conferencing Nodes; keeping the nodes discovered before');
      } else {
        discovered = found.nodes;
        this.lastDiscovered = found.nodes;
      }
    }
    return { at, statuses: statuses.objects, observations, capacity, discovered, skipped, pages };
  }
}

export type SimulatorManagementOptions = {
  /** The simulator's Management Node base URL (`sim.managementUrl`). */
  url: string;
  /** The simulator's node scheme (`sim.scheme`). */
  scheme: 'http' | 'https';
  /** Inventory from the Management Node (default true). */
  discover?: boolean;
  /** Sweep interval as written in the config (default "2s": the demo wants visible movement; production uses 15s+). */
  interval?: string;
  username?: string;
  /** Environment variable holding the password (with `username`). */
  passwordEnv?: string;
  pageSize?: number;
};

/**
 * The `management` config section (YAML shape, before validation) for a simulated Management Node:
 * discovery with the simulator-only `x_sim_port` field as each node's port, and status URLs built
 * from `{address}:{port}`. Used by the demo and the tests.
 *
 * @example
 * const sim = await Simulator.start({ nodes: 4 });
 * const config = { nodes: [], management: simulatorManagementConfig({ url: sim.managementUrl!, scheme: sim.scheme }) };
 */
export function simulatorManagementConfig(options: SimulatorManagementOptions): Record<string, unknown> {
  return {
    url: options.url,
    interval: options.interval ?? '2s',
    timeout: '1s',
    discover: options.discover ?? true,
    port_field: SIMULATOR_PORT_FIELD,
    status_url_template: `${options.scheme}://{address}:{port}/api/client/v2/status`,
    ...(options.pageSize !== undefined ? { page_size: options.pageSize } : {}),
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.passwordEnv !== undefined ? { password_env: options.passwordEnv } : {}),
  };
}
