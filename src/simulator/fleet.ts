// The Simulator: a fleet of fake Conferencing Nodes (one listener each, one shared HTTP server) plus side servers.

import { once } from 'node:events';
import { LoopbackAllocator } from './addressing.js';
import type { Addressing } from './addressing.js';
import { ControlApi } from './control-api.js';
import { SimulatorError, badInput } from './errors.js';
import { ManagementNode, parseManagementFaults } from './management.js';
import type { ManagementFaults, ManagementOptions } from './management.js';
import type { MaintenanceChange, ManagementWrite } from './management-writes.js';
import { NodeListeners, closeListener, destroyConnection } from './node-listeners.js';
import { NodeServer } from './node-server.js';
import type { SimulatorTlsOptions } from './node-server.js';
import { DEFAULT_MAINTENANCE_REASON, SimNode, listens, parseCalls, parseFaults, parseLoad, parsePatch, parseSpec } from './sim-node.js';
import type { NodeFaults, NodeInfo, NodePatch, NodePhase, NodeSpec } from './sim-node.js';

export type { Addressing } from './addressing.js';
export type { SimulatorTlsOptions } from './node-server.js';

/** Options of `Simulator.start()`. */
export type SimulatorOptions = {
  /** A node count (names px01, px02, ...) or explicit node descriptions. Default 3. */
  nodes?: number | NodeSpec[];
  /** `true` uses the committed test certificate (`testTls()`); or pass your own key and cert. Default plain HTTP. */
  tls?: boolean | SimulatorTlsOptions;
  /** Default `ports`. */
  addressing?: Addressing;
  /** `ports`: first node's port, the next ones count up; `addresses`: the shared port. Default 0 (free ports). */
  basePort?: number;
  /** `addresses` only: first node address (default 127.1.0.1). */
  baseAddress?: string;
  /** Management Node options, or `false` for none. Default: enabled, plain HTTP, no auth. */
  management?: ManagementOptions | false;
  /** Start the HTTP control API (default false); `{ port }` picks its port. */
  control?: boolean | { port?: number };
  /** How long `close()` lets in-flight node responses finish before destroying them (default 1000 ms). */
  closeGraceMs?: number;
};

/**
 * A simulated Pexip fleet: Conferencing Nodes that answer `/api/client/v2/status`
 * by phase and injected fault, a Management Node and an optional control API.
 *
 * @example
 * const sim = await Simulator.start({ nodes: 3 });
 * await sim.setPhase('px02', 'maintenance', 'Software upgrade');
 * const res = await fetch(sim.node('px02')!.statusUrl); // 503
 * await sim.close();
 */
export class Simulator {
  readonly scheme: 'http' | 'https';
  readonly addressing: Addressing;
  readonly #nodes = new Map<string, SimNode>();
  readonly #listeners: NodeListeners;
  readonly #allocator: LoopbackAllocator | undefined;
  readonly #basePort: number;
  readonly #closeGraceMs: number;
  readonly #tls: SimulatorTlsOptions | undefined;
  #sharedPort = 0;
  #nextId = 1;
  #nameWidth = 2;
  #closed = false;
  #closing: Promise<void> | undefined;
  #management: ManagementNode | undefined;
  #control: ControlApi | undefined;

  private constructor(options: SimulatorOptions, tls: SimulatorTlsOptions | undefined) {
    this.#tls = tls;
    this.scheme = tls ? 'https' : 'http';
    this.addressing = options.addressing ?? 'ports';
    if (this.addressing !== 'ports' && this.addressing !== 'addresses') {
      throw badInput(`"addressing" must be "ports" or "addresses"; got ${JSON.stringify(options.addressing)}.`);
    }
    this.#basePort = options.basePort ?? 0;
    if (!Number.isInteger(this.#basePort) || this.#basePort < 0 || this.#basePort > 65_535) {
      throw badInput(`"basePort" must be an integer from 0 to 65535; got ${JSON.stringify(options.basePort)}.`);
    }
    this.#allocator = this.addressing === 'addresses' ? new LoopbackAllocator(options.baseAddress ?? '127.1.0.1') : undefined;
    this.#closeGraceMs = options.closeGraceMs ?? 1000;
    const closed = (): boolean => this.#closed;
    const server = new NodeServer(tls, closed);
    this.#listeners = new NodeListeners({
      addressing: this.addressing,
      basePort: this.#basePort,
      accept: (node, listener, socket) => server.accept(node, listener, socket),
      closed,
    });
  }

  /**
   * Starts a fleet; resolves once every running node listens.
   *
   * @example
   * const sim = await Simulator.start({ nodes: 300, addressing: 'addresses', tls: true });
   */
  static async start(options: SimulatorOptions = {}): Promise<Simulator> {
    const tls = options.tls === true ? await loadTestTls() : options.tls === false || options.tls === undefined ? undefined : options.tls;
    const sim = new Simulator(options, tls);
    try {
      await sim.#init(options);
    } catch (error) {
      sim.destroy();
      throw error;
    }
    return sim;
  }

  async #init(options: SimulatorOptions): Promise<void> {
    const specs = this.#initialSpecs(options.nodes ?? 3);
    for (const spec of specs) this.#create(spec);
    this.#sharedPort = await this.#listeners.listenAll([...this.#nodes.values()]);
    if (options.management !== false) {
      const apply = (node: SimNode, change: MaintenanceChange): Promise<void> => this.#applyMaintenance(node, change);
      this.#management = new ManagementNode(() => [...this.#nodes.values()], options.management ?? {}, this.#tls, apply);
      await this.#management.listen();
    }
    if (options.control !== undefined && options.control !== false) {
      this.#control = new ControlApi(this);
      await this.#control.listen(options.control === true ? 0 : (options.control.port ?? 0));
    }
  }

  #initialSpecs(nodes: number | NodeSpec[]): NodeSpec[] {
    if (typeof nodes === 'number') {
      if (!Number.isInteger(nodes) || nodes < 0 || nodes > 60_000) throw badInput(`"nodes" must be an integer from 0 to 60000; got ${nodes}.`);
      this.#nameWidth = Math.max(2, String(nodes).length);
      return Array.from({ length: nodes }, () => ({}));
    }
    if (!Array.isArray(nodes)) throw badInput('"nodes" must be a count or an array of node descriptions.');
    this.#nameWidth = Math.max(2, String(nodes.length).length);
    return nodes.map((spec) => parseSpec(spec));
  }

  #create(spec: NodeSpec): SimNode {
    const id = this.#nextId;
    const name = spec.name ?? this.#defaultName();
    if (this.#nodes.has(name)) throw new SimulatorError('SIM_DUPLICATE_NODE', `a node named ${JSON.stringify(name)} already exists.`);
    this.#nextId += 1;
    const address = this.#allocator ? this.#allocator.next() : '127.0.0.1';
    const node = new SimNode(id, name, address, spec);
    if (this.addressing === 'ports' && this.#basePort > 0) node.port = this.#basePort + id - 1;
    if (node.port > 65_535) throw badInput(`port ${node.port} for ${name} is beyond 65535; lower "basePort".`);
    this.#nodes.set(name, node);
    return node;
  }

  #defaultName(): string {
    for (let n = this.#nextId; ; n += 1) {
      const name = `px${String(n).padStart(this.#nameWidth, '0')}`;
      if (!this.#nodes.has(name)) return name;
    }
  }

  #get(name: string): SimNode {
    const node = this.#nodes.get(name);
    if (!node) throw new SimulatorError('SIM_UNKNOWN_NODE', `no node named ${JSON.stringify(name)}.`);
    return node;
  }

  #ensureOpen(): void {
    if (this.#closed) throw new SimulatorError('SIM_CLOSED', 'the simulator is closed.');
  }

  /**
   * Brings the node's listener in line with its phase, in order with earlier changes.
   * Stopping takes effect synchronously (new connections are refused at once);
   * the returned promise settles when listening again is done.
   */
  #reconcile(node: SimNode): Promise<void> {
    const wanted = (): boolean => listens(node.phase) && !node.removed && !this.#closed;
    let stopping: Promise<void> | undefined;
    if (!wanted() && node.listener) stopping = this.#listeners.unbind(node);
    const step = node.queue.then(async () => {
      await stopping;
      if (wanted() && !node.listener) await this.#listeners.bindWithRetry(node);
      else if (!wanted() && node.listener) await this.#listeners.unbind(node);
    });
    node.queue = step.catch(() => undefined);
    return step;
  }

  /** A configuration write: the setting is kept, and a running node's phase follows it at once. */
  async #applyMaintenance(node: SimNode, change: MaintenanceChange): Promise<void> {
    const current = node.maintenanceSetting ?? { on: node.phase === 'maintenance', reason: node.phase === 'maintenance' ? (node.reason ?? '') : '' };
    const next = { on: change.maintenance ?? current.on, reason: change.reason ?? current.reason };
    node.maintenanceSetting = next;
    if (node.removed || this.#closed) return;
    const reason = next.reason === '' ? DEFAULT_MAINTENANCE_REASON : next.reason;
    if (next.on && node.phase === 'maintenance') node.reason = reason;
    else if (next.on && node.phase === 'up') node.applyPhase('maintenance', reason);
    else if (!next.on && node.phase === 'maintenance') node.applyPhase('up', undefined);
    else return;
    await this.#reconcile(node);
  }

  /** Snapshot of every node, in creation order. */
  nodes(): NodeInfo[] {
    return [...this.#nodes.values()].map((node) => node.info(this.scheme));
  }

  /** Snapshot of one node, or undefined. */
  node(name: string): NodeInfo | undefined {
    return this.#nodes.get(name)?.info(this.scheme);
  }

  /**
   * Changes a node's phase; resolves when its listener matches (refusing starts at once).
   *
   * @example
   * await sim.setPhase('px01', 'rebooting'); // connections now get ECONNREFUSED
   * await sim.setPhase('px01', 'up');        // listening again on the same address and port
   */
  setPhase(name: string, phase: NodePhase, reason?: string): Promise<void> {
    return this.updateNode(name, reason === undefined ? { phase } : { phase, reason }).then(() => undefined);
  }

  /** Sets the media load percent (0..100) the Management Node reports outside maintenance. */
  setLoad(name: string, load: number): void {
    this.#get(name).load = parseLoad(load);
  }

  /** Sets the number of ongoing calls (drives media_tokens_used and signaling_count). */
  setCalls(name: string, calls: number): void {
    this.#get(name).calls = parseCalls(calls);
  }

  /** Replaces the node's status-endpoint faults (`{}` clears them). */
  setFaults(name: string, faults: NodeFaults): void {
    this.#get(name).faults = parseFaults(faults);
  }

  clearFaults(name: string): void {
    this.#get(name).faults = {};
  }

  /**
   * Applies several changes to one node at once, after validating all of them.
   *
   * @example
   * await sim.updateNode('px03', { phase: 'maintenance', reason: 'Azure maintenance', calls: 4 });
   */
  async updateNode(name: string, change: NodePatch): Promise<NodeInfo> {
    this.#ensureOpen();
    const node = this.#get(name);
    const patch = parsePatch(change);
    if (patch.reason !== undefined && patch.phase === undefined && node.phase !== 'maintenance') {
      throw badInput(`"reason" only applies in maintenance; ${name} is ${node.phase}.`);
    }
    if (patch.load !== undefined) node.load = patch.load;
    if (patch.calls !== undefined) node.calls = patch.calls;
    if (patch.faults !== undefined) node.faults = patch.faults ?? {};
    if (patch.version !== undefined) node.version = patch.version;
    if (patch.phase !== undefined) {
      // Maintenance set through the configuration API survives reboots: such a node comes up in maintenance.
      const setting = node.maintenanceSetting;
      if (patch.phase === 'up' && setting?.on) node.applyPhase('maintenance', setting.reason === '' ? DEFAULT_MAINTENANCE_REASON : setting.reason);
      else node.applyPhase(patch.phase, patch.reason);
      await this.#reconcile(node);
    } else if (patch.reason !== undefined) {
      node.reason = patch.reason;
    }
    return node.info(this.scheme);
  }

  /**
   * Adds a node (next free name and address unless given); resolves once it listens.
   *
   * @example
   * const info = await sim.addNode({ name: 'px99', phase: 'maintenance' });
   */
  async addNode(spec: NodeSpec = {}): Promise<NodeInfo> {
    this.#ensureOpen();
    const node = this.#create(parseSpec(spec));
    if (this.addressing === 'addresses') node.port = this.#sharedPort;
    try {
      await this.#reconcile(node);
    } catch (error) {
      this.#nodes.delete(node.name);
      throw error;
    }
    return node.info(this.scheme);
  }

  /** Removes a node: stops listening and drops its connections. False when there was no such node. */
  async removeNode(name: string): Promise<boolean> {
    const node = this.#nodes.get(name);
    if (!node) return false;
    this.#nodes.delete(name);
    node.removed = true;
    await this.#reconcile(node);
    return true;
  }

  /** Requests to the node's status endpoint since start or the last `resetCounters()`. */
  probeRequests(name: string): number {
    return this.#get(name).probeRequests;
  }

  /** Requests to any other path of the node (traffic through a load balancer). */
  otherRequests(name: string): number {
    return this.#get(name).otherRequests;
  }

  /** Requests the Management Node received (0 when it is disabled). */
  managementRequests(): number {
    return this.#management?.requests ?? 0;
  }

  /**
   * Every PATCH/PUT the Management Node received (answered or refused), oldest first.
   *
   * @example sim.managementWrites().map((w) => [w.node, w.body?.maintenance_mode, w.status]) // [['px01', true, 202]]
   */
  managementWrites(): ManagementWrite[] {
    return (this.#management?.writes ?? []).map((write) => ({ ...write }));
  }

  /** Zeroes every node's and the Management Node's request counters. */
  resetCounters(): void {
    for (const node of this.#nodes.values()) {
      node.probeRequests = 0;
      node.otherRequests = 0;
    }
    if (this.#management) {
      this.#management.requests = 0;
      this.#management.writes.length = 0;
    }
  }

  /** Replaces the Management Node's faults (`{}` clears them). */
  setManagementFaults(faults: ManagementFaults): void {
    if (!this.#management) throw badInput('the Management Node is disabled.');
    this.#management.faults = parseManagementFaults(faults);
  }

  clearManagementFaults(): void {
    if (this.#management) this.#management.faults = {};
  }

  managementFaults(): ManagementFaults {
    return { ...(this.#management?.faults ?? {}) };
  }

  /** Base URL of the Management Node (e.g. http://127.0.0.1:41234), or undefined when disabled. */
  get managementUrl(): string | undefined {
    return this.#management?.url;
  }

  /** Base URL of the control API, or undefined when disabled. */
  get controlUrl(): string | undefined {
    return this.#control?.url;
  }

  /** The shared port in `addresses` mode (0 in `ports` mode). */
  get sharedPort(): number {
    return this.addressing === 'addresses' ? this.#sharedPort : 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Graceful, idempotent stop: listeners close, idle keep-alive connections end,
   * deliberately stuck responses (hang, trickle, booting) are destroyed, and other
   * in-flight responses get `closeGraceMs` before being destroyed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const listeners: Promise<void>[] = [];
    const closes: Promise<unknown>[] = [];
    for (const node of this.#nodes.values()) {
      if (node.listener) listeners.push(closeListener(node.listener));
      node.listener = null;
      for (const conn of node.connections) {
        closes.push(once(conn.raw, 'close'));
        if (conn.stuck) destroyConnection(conn);
        else if (conn.active === 0) (conn.outer ?? conn.raw).end();
      }
    }
    const side = [this.#management?.close(), this.#control?.close()];
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#closeGraceMs);
    });
    await Promise.race([Promise.all(closes), grace]);
    clearTimeout(timer);
    this.destroy();
    await Promise.all([...listeners, ...side]);
  }

  /** Destroys every socket and listener now (idempotent). */
  destroy(): void {
    this.#closed = true;
    for (const node of this.#nodes.values()) {
      node.listener?.close();
      node.listener = null;
      for (const conn of node.connections) destroyConnection(conn);
    }
    this.#management?.destroy();
    this.#control?.destroy();
  }
}

async function loadTestTls(): Promise<SimulatorTlsOptions> {
  const { testTls } = await import('./tls-fixtures.js');
  const { key, cert } = testTls();
  return { key, cert };
}
