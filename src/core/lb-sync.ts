// The load-balancer sync model of DESIGN §2b: per target and node, `want` vs `have`, and one status.

import { SEVERITY, budgetStatus, formatBudget, sameState, worstStatus } from './lb-sync-rules.js';
import type { SyncStatus, TargetKind } from './lb-sync-rules.js';

export { SYNC_STATUSES, TARGET_KINDS, budgetStatus, formatBudget, sameState, wantFor, worstStatus } from './lb-sync-rules.js';
export type { SyncStatus, TargetKind } from './lb-sync-rules.js';

/** One node as one target holds it. `want`/`have` are short display texts in the target's own terms. */
export type NodeSync = {
  readonly name: string;
  readonly status: SyncStatus;
  /** What the verdict asks for ("ready 65%", "drain", "weight=65", "DRAINING"), null when nothing is expected. */
  readonly want: string | null;
  /** What the load balancer was read to hold, null when it does not have the node (or was never read). */
  readonly have: string | null;
  /** When this node's status last changed (epoch ms). */
  readonly since: number;
  readonly reason: string;
};

/** One target as the API shows it (`GET /api/v1/loadbalancers`). */
export type TargetSync = {
  readonly id: string;
  readonly kind: TargetKind;
  /** Where it is: a socket, a file, an Envoy node id. */
  readonly target: string;
  readonly backend?: string;
  readonly status: SyncStatus;
  /** When the target's status last changed (epoch ms). */
  readonly since: number;
  readonly reason: string;
  readonly nodes: readonly NodeSync[];
  /** Servers the load balancer has that drainwatch does not know (at most MAX_UNMANAGED names). */
  readonly unmanaged: readonly string[];
  /** Repairs made since the target was registered (push mode, our NGINX file). */
  readonly repairs: number;
  /** Failed read-backs since the target was registered. */
  readonly readFailures: number;
  /** When the target was last read (or reported on), epoch ms; null before the first read. */
  readonly readAt: number | null;
};

/** What a front-end registers. */
export type TargetSpec = {
  /** Stable and unique, e.g. "haproxy:/run/haproxy/admin.sock:pexip", "nginx:pexip", "envoy-rest:edge-1/pexip". */
  id: string;
  kind: TargetKind;
  target: string;
  backend?: string;
  /** How long a difference may last before it is `diverged` (the target's own cadence). */
  budgetMs: number;
  /** No report for this long turns the target `unreachable` (on `tick`); absent = never. */
  staleAfterMs?: number;
  /** True for targets that come and go on their own (Envoy clients): bounded by `maxDynamic`, oldest out first. */
  dynamic?: boolean;
};

/**
 * One node in one read-back. Without an explicit `status`: matching → `in_sync`; differing
 * after a new `want` → the budget rule; differing although it matched this same `want` before
 * → `diverged` at once (a hand-made change, not a change on its way).
 */
export type NodeReading = {
  name: string;
  want: string | null;
  have: string | null;
  /** Whether `have` satisfies `want`; defaults to `sameState(want, have)`. For tolerances (HAProxy weight rounding). */
  matches?: boolean;
  /** A status decided by the front-end itself (e.g. "server has no agent check": diverged at once). */
  status?: SyncStatus;
  reason?: string;
};

/** One read-back of a target (or a report from a front-end that keeps its own evidence). */
export type TargetReading = {
  nodes: readonly NodeReading[];
  unmanaged?: readonly string[];
  /** An error of the target itself: `diverged` (nginx -t failed, NACK) or `unreachable` (cannot read). */
  error?: { status: 'diverged' | 'unreachable'; reason: string } | null;
  /** Counts this report as a failed read (metrics). Default: true when `error.status` is unreachable. */
  readFailed?: boolean;
};

/** A change of one target: `previous` is its status before (null when just registered). */
export type SyncEvent = { readonly target: TargetSync; readonly previous: SyncStatus | null; readonly removed: boolean };

export type LoadBalancerSyncOptions = {
  /** Clock (epoch ms); injectable for tests. */
  now?: () => number;
  /** Most dynamic targets kept at once (older ones are dropped first). Default 64. */
  maxDynamic?: number;
};

/** Longest list of unmanaged server names kept per target. */
export const MAX_UNMANAGED = 50;

type NodeEntry = NodeSync & { differentSince: number | null };

type TargetEntry = {
  spec: TargetSpec;
  status: SyncStatus;
  since: number;
  reason: string;
  nodes: Map<string, NodeEntry>;
  unmanaged: readonly string[];
  error: TargetReading['error'];
  repairs: number;
  readFailures: number;
  readAt: number | null;
  registeredAt: number;
  view: TargetSync | null;
};

/**
 * The registry of every load-balancer target: front-ends register targets and report what
 * they read back; the registry keeps statuses, their `since`, and the worst-of rule, and tells
 * listeners (logs, metrics, dashboard). Pure: no timers; call `tick()` to let time-based rules
 * (budgets, staleness) act between reports.
 *
 * @example
 * const sync = new LoadBalancerSync();
 * sync.register({ id: 'haproxy:/run/haproxy/admin.sock:pexip', kind: 'haproxy', target: '/run/haproxy/admin.sock', backend: 'pexip', budgetMs: 4000 });
 * sync.report('haproxy:/run/haproxy/admin.sock:pexip', { nodes: [{ name: 'px01', want: 'drain', have: 'drain' }] });
 * sync.applied('px01') // { 'haproxy:/run/haproxy/admin.sock:pexip': 'in_sync' }
 */
export class LoadBalancerSync {
  private readonly targets = new Map<string, TargetEntry>();
  private readonly changeListeners = new Set<(event: SyncEvent) => void>();
  private readonly statusListeners = new Set<(event: SyncEvent) => void>();
  private readonly now: () => number;
  private readonly maxDynamic: number;

  constructor(options: LoadBalancerSyncOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxDynamic = Math.max(1, options.maxDynamic ?? 64);
  }

  /**
   * Adds a target, or updates the spec of one already registered (its state is kept: a reload
   * that keeps the target keeps its history). A new target is `converging` until its first report.
   */
  register(spec: TargetSpec): void {
    const existing = this.targets.get(spec.id);
    if (existing) {
      existing.spec = { ...spec };
      existing.view = null;
      return;
    }
    const now = this.now();
    const entry: TargetEntry = {
      spec: { ...spec }, status: 'converging', since: now, reason: 'not read back yet', nodes: new Map(),
      unmanaged: [], error: null, repairs: 0, readFailures: 0, readAt: null, registeredAt: now, view: null,
    };
    this.targets.set(spec.id, entry);
    if (spec.dynamic) this.evictDynamic(spec.id);
    this.emit(entry, null, true, false);
  }

  /** Removes a target (reload dropped it, an Envoy client went away). Returns false when unknown. */
  unregister(id: string): boolean {
    const entry = this.targets.get(id);
    if (!entry) return false;
    this.targets.delete(id);
    this.emit(entry, entry.status, true, true);
    return true;
  }

  has(id: string): boolean {
    return this.targets.has(id);
  }

  ids(): string[] {
    return [...this.targets.keys()];
  }

  /** Reports one read-back. Nodes absent from `reading.nodes` are dropped from the target. */
  report(id: string, reading: TargetReading): void {
    const entry = this.targets.get(id);
    if (entry) this.apply(entry, reading, true);
  }

  /**
   * Marks a target as heard from without a change (a poll that carried nothing new): keeps
   * it from turning stale without the cost of a full report.
   */
  seen(id: string): void {
    const entry = this.targets.get(id);
    if (!entry) return;
    if (entry.spec.dynamic) this.touch(id, entry);
    entry.readAt = this.now();
    entry.view = null;
  }

  /**
   * Reports that the target could not be read (or failed on its own): keeps the nodes' last
   * `want`/`have`, marks them like the target when unreachable, counts a read failure when unreachable.
   */
  fail(id: string, status: 'diverged' | 'unreachable', reason: string): void {
    const entry = this.targets.get(id);
    if (!entry) return;
    const nodes = [...entry.nodes.values()].map((node) => ({ name: node.name, want: node.want, have: node.have }));
    if (status === 'diverged') {
      const now = this.now();
      if (entry.spec.dynamic) this.touch(id, entry);
      entry.readAt = now;
      entry.error = { status, reason };
      this.settle(entry, now, true);
      return;
    }
    this.report(id, { nodes, unmanaged: entry.unmanaged, error: { status, reason } });
  }

  /** Counts repairs made on a target (push mode re-asserted a server, NGINX file rewritten). */
  repaired(id: string, count = 1): void {
    const entry = this.targets.get(id);
    if (!entry || count <= 0) return;
    entry.repairs += count;
    entry.view = null;
    this.emit(entry, entry.status, false, false);
  }

  /**
   * Lets time act: differences past their budget turn `diverged`, and targets silent past
   * their `staleAfterMs` turn `unreachable`. Call it every second or so.
   */
  tick(): void {
    const now = this.now();
    for (const entry of [...this.targets.values()]) {
      const stale = entry.spec.staleAfterMs;
      const last = entry.readAt ?? entry.registeredAt;
      if (stale !== undefined && now - last > stale && entry.error?.status !== 'unreachable') {
        const reason = entry.readAt === null
          ? `never read back in ${formatBudget(stale)}`
          : `no read-back for ${formatBudget(now - last)} (more than ${formatBudget(stale)})`;
        const nodes = [...entry.nodes.values()].map((node) => ({ name: node.name, want: node.want, have: node.have }));
        // Silence is neither a read nor a failed one: readAt and the failure count stay.
        this.apply(entry, { nodes, unmanaged: entry.unmanaged, error: { status: 'unreachable', reason }, readFailed: false }, false);
        continue;
      }
      let changed = false;
      for (const [name, node] of entry.nodes) {
        if (node.status !== 'converging' || node.differentSince === null) continue;
        if (budgetStatus(node.differentSince, now, entry.spec.budgetMs) !== 'diverged') continue;
        entry.nodes.set(name, { ...node, status: 'diverged', since: now, reason: divergedReason(node.want, node.have, entry.spec.budgetMs) });
        changed = true;
      }
      if (changed) this.settle(entry, now, true);
    }
  }

  /** One target, or undefined. */
  get(id: string): TargetSync | undefined {
    const entry = this.targets.get(id);
    return entry ? this.view(entry) : undefined;
  }

  /** Every target, in registration order (dynamic ones by last report). */
  snapshot(): TargetSync[] {
    return [...this.targets.values()].map((entry) => this.view(entry));
  }

  /**
   * Per target, the status of one node (targets that do not hold the node are left out).
   *
   * @example sync.applied('px01') // { 'nginx:pexip': 'in_sync', 'envoy-rest:edge-1/pexip': 'converging' }
   */
  applied(name: string): Record<string, SyncStatus> {
    const result: Record<string, SyncStatus> = {};
    for (const [id, entry] of this.targets) {
      const node = entry.nodes.get(name);
      if (node) result[id] = node.status;
    }
    return result;
  }

  /** Calls `listener` after any change of a target (statuses, reasons, want/have, repairs); returns an unsubscribe function. */
  onChange(listener: (event: SyncEvent) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Calls `listener` when a target's own status changes, is registered or removed (one log line each); returns an unsubscribe function. */
  onStatusChange(listener: (event: SyncEvent) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private apply(entry: TargetEntry, reading: TargetReading, isRead: boolean): void {
    const now = this.now();
    if (isRead) {
      if (entry.spec.dynamic) this.touch(entry.spec.id, entry);
      entry.readAt = now;
    }
    const unreachable = reading.error?.status === 'unreachable';
    if (reading.readFailed ?? unreachable) entry.readFailures += 1;
    entry.error = reading.error ?? null;
    const nodes = new Map<string, NodeEntry>();
    for (const node of reading.nodes) {
      const previous = entry.nodes.get(node.name);
      nodes.set(node.name, unreachable
        ? judgeUnreachable(previous, node, reading.error!.reason, now)
        : judgeNode(previous, node, now, entry.spec.budgetMs));
    }
    entry.nodes = nodes;
    entry.unmanaged = (reading.unmanaged ?? []).slice(0, MAX_UNMANAGED);
    this.settle(entry, now, true);
  }

  private settle(entry: TargetEntry, now: number, notify: boolean): void {
    const before = this.view(entry);
    const nodeStatuses = [...entry.nodes.values()].map((node) => node.status);
    const status = worstStatus([entry.error?.status, ...nodeStatuses]);
    const reason = entry.error && SEVERITY[entry.error.status] >= SEVERITY[status]
      ? entry.error.reason
      : summarise(entry.nodes, status);
    const previous = entry.status;
    if (status !== previous) entry.since = now;
    entry.status = status;
    entry.reason = reason;
    entry.view = null;
    if (!notify) return;
    const after = this.view(entry);
    if (status !== previous) this.emit(entry, previous, true, false);
    else if (!sameView(before, after)) this.emit(entry, previous, false, false);
  }

  private emit(entry: TargetEntry, previous: SyncStatus | null, statusChanged: boolean, removed: boolean): void {
    const event: SyncEvent = { target: this.view(entry), previous, removed };
    for (const listener of this.changeListeners) listener(event);
    if (statusChanged) for (const listener of this.statusListeners) listener(event);
  }

  private view(entry: TargetEntry): TargetSync {
    if (entry.view) return entry.view;
    const { spec } = entry;
    const nodes = [...entry.nodes.values()].map(({ differentSince: _omit, ...node }) => node);
    entry.view = {
      id: spec.id, kind: spec.kind, target: spec.target, ...(spec.backend === undefined ? {} : { backend: spec.backend }),
      status: entry.status, since: entry.since, reason: entry.reason, nodes, unmanaged: entry.unmanaged,
      repairs: entry.repairs, readFailures: entry.readFailures, readAt: entry.readAt,
    };
    return entry.view;
  }

  // Most recently reported last: re-inserting moves a dynamic target to the end of the Map.
  private touch(id: string, entry: TargetEntry): void {
    this.targets.delete(id);
    this.targets.set(id, entry);
  }

  private evictDynamic(keep: string): void {
    let count = 0;
    for (const entry of this.targets.values()) if (entry.spec.dynamic) count += 1;
    for (const [id, entry] of this.targets) {
      if (count <= this.maxDynamic) break;
      if (!entry.spec.dynamic || id === keep) continue;
      this.unregister(id);
      count -= 1;
    }
  }
}

function judgeNode(previous: NodeEntry | undefined, node: NodeReading, now: number, budgetMs: number): NodeEntry {
  const matches = node.matches ?? sameState(node.want, node.have);
  let status: SyncStatus;
  let reason: string;
  let differentSince: number | null = null;
  if (node.status) {
    status = node.status;
    reason = node.reason ?? defaultReason(status, node.want, node.have, budgetMs);
  } else if (matches) {
    status = 'in_sync';
    reason = node.reason ?? (node.want === null ? 'nothing expected (no verdict yet)' : '');
  } else if (previous && previous.status === 'in_sync' && previous.want === node.want && previous.want !== null) {
    // It held what it should and the verdict did not move: someone changed the load balancer.
    status = 'diverged';
    reason = node.reason ?? `changed behind drainwatch's back: expected ${node.want}, has ${node.have ?? 'nothing'}`;
  } else {
    // The clock of a difference restarts when the verdict asks for something new.
    const carried = previous && previous.want === node.want && previous.differentSince !== null;
    differentSince = carried ? previous.differentSince : now;
    status = budgetStatus(differentSince!, now, budgetMs);
    reason = node.reason ?? defaultReason(status, node.want, node.have, budgetMs);
  }
  const since = previous && previous.status === status ? previous.since : now;
  return { name: node.name, status, want: node.want, have: node.have, since, reason, differentSince };
}

function judgeUnreachable(previous: NodeEntry | undefined, node: NodeReading, reason: string, now: number): NodeEntry {
  const since = previous && previous.status === 'unreachable' ? previous.since : now;
  return { name: node.name, status: 'unreachable', want: node.want, have: node.have, since, reason, differentSince: null };
}

function defaultReason(status: SyncStatus, want: string | null, have: string | null, budgetMs: number): string {
  switch (status) {
    case 'in_sync':
      return '';
    case 'converging':
      return `expected ${want ?? 'anything'}, has ${have ?? 'nothing'} (within ${formatBudget(budgetMs)})`;
    case 'diverged':
      return divergedReason(want, have, budgetMs);
    case 'unreachable':
      return 'cannot be read';
  }
}

function divergedReason(want: string | null, have: string | null, budgetMs: number): string {
  if (have === null) return `expected ${want ?? 'anything'}, but the load balancer does not have this node`;
  return `expected ${want ?? 'anything'}, has ${have} for ${formatBudget(budgetMs)} or more`;
}

function summarise(nodes: ReadonlyMap<string, NodeEntry>, status: SyncStatus): string {
  if (status === 'in_sync') return nodes.size === 0 ? 'no nodes' : `${nodes.size} node${nodes.size === 1 ? '' : 's'} in sync`;
  const matching = [...nodes.values()].filter((node) => node.status === status);
  const first = matching[0];
  if (!first) return status;
  const more = matching.length > 1 ? ` (+${matching.length - 1} more)` : '';
  return `${first.name}: ${first.reason || status}${more}`;
}

function sameView(a: TargetSync, b: TargetSync): boolean {
  if (a.status !== b.status || a.reason !== b.reason || a.nodes.length !== b.nodes.length) return false;
  if (a.unmanaged.join('\n') !== b.unmanaged.join('\n')) return false;
  return a.nodes.every((node, i) => {
    const other = b.nodes[i]!;
    return node.name === other.name && node.status === other.status && node.want === other.want
      && node.have === other.have && node.reason === other.reason;
  });
}
