// The state core: per-node observations in, one versioned snapshot of verdicts out (DESIGN §2).

import { applyProbe, deriveVerdict } from './verdict.js';
import { answerChangesNothing, keepLastProbe, newestObservationAt, newRecord, type NodeRecord } from './node-record.js';
import { Snapshot, type GuardStatus, type NodeVerdict, type SnapshotSource } from './snapshot.js';
import { silentLogger, type Logger } from './logger.js';
import { VISIBLE_FIELDS, probeView, sameVisible, type VisibleFields } from './verdict-publish.js';
import type {
  HealthTracker,
  ManagementObservation,
  NodeSpec,
  NodeState,
  Override,
  ProbeObservation,
  VerdictCore,
} from './verdict.js';

export type StatePolicy = {
  min_weight: number;
  weight_step: number;
  degraded_load: number;
  guard_down_fraction: number;
  guard_min_nodes: number;
};

export type StateCoreOptions = {
  nodes: readonly NodeSpec[];
  rise: number;
  fall: number;
  maxAgeMs: number;
  policy: StatePolicy;
  clock?: () => number;
  logger?: Logger;
  /** How often staleness and override expiry are re-checked (default 250 ms). */
  tickMs?: number;
  /** Optional load smoothing hook: returns the load to weight by (see management). */
  weightLoad?: (name: string, management: ManagementObservation | null, now: number) => number | null;
};

export type Transition = { name: string; from: NodeState; to: NodeState; reason: string; at: number };

/**
 * Holds every node's observations and publishes verdict snapshots.
 *
 * @example
 * const core = new StateCore({ nodes, rise: 2, fall: 2, maxAgeMs: 5000, policy });
 * core.recordProbe('px01', observation);
 * core.flush();
 * core.snapshot().get('px01')?.state;
 */
export class StateCore implements SnapshotSource {
  private readonly records = new Map<string, NodeRecord>();
  private readonly overrides = new Map<string, Override>();
  private readonly listeners = new Set<(snapshot: Snapshot, changed?: readonly NodeVerdict[]) => void>();
  private readonly transitionListeners = new Set<(transition: Transition) => void>();
  private readonly dirty = new Set<string>();
  /** Records whose verdict copy with the newest observation time has not been made yet. */
  private readonly stale = new Set<NodeRecord>();
  private readonly clock: () => number;
  private readonly logger: Logger;
  private options: StateCoreOptions;
  private current: Snapshot;
  /** True when verdicts were refreshed (newer observations, same version) after `current` was built. */
  private refreshed = false;
  private index = new Map<string, number>();
  private version = 0;
  private guard: GuardStatus = { active: false, downCount: 0, total: 0, since: null };
  /** Records whose candidate verdict is `down`, kept incrementally so a flush never walks the fleet. */
  private candidateDown = 0;
  private flushScheduled: NodeJS.Immediate | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: StateCoreOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.current = new Snapshot(0, this.clock(), [], this.index, this.guard);
    this.setInventory(options.nodes);
  }

  /**
   * The current snapshot. A published snapshot never changes: fresher observation times make a
   * new snapshot object at the same version, built here on demand (at most once per flush).
   */
  snapshot(): Snapshot {
    if (this.refreshed) {
      this.refreshed = false;
      this.freshen();
      this.current = this.build(this.current.version, this.current.at);
    }
    return this.current;
  }

  /** The newest published version, observation times possibly behind (see SnapshotSource). */
  published(): Snapshot {
    return this.current;
  }

  /**
   * Calls `listener` after each new version with the verdicts that changed in it (`changed` is
   * absent when the whole inventory was re-published), so listeners can work in O(changes).
   */
  onChange(listener: (snapshot: Snapshot, changed?: readonly NodeVerdict[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called for every state change of a node (after the snapshot that carries it is published). */
  onTransition(listener: (transition: Transition) => void): () => void {
    this.transitionListeners.add(listener);
    return () => this.transitionListeners.delete(listener);
  }

  /** Starts the staleness/expiry ticker. */
  start(): void {
    if (this.ticker || this.closed) return;
    this.ticker = setInterval(() => this.tick(), this.options.tickMs ?? 250);
    this.ticker.unref();
  }

  /** Applies new rules (config reload) without losing observations. */
  updateRules(rules: Pick<StateCoreOptions, 'rise' | 'fall' | 'maxAgeMs' | 'policy'>): void {
    this.options = { ...this.options, ...rules };
    this.markAll();
    this.scheduleFlush();
  }

  /** Replaces the inventory: new names are added, missing ones removed, the rest keep their verdicts. */
  setInventory(specs: readonly NodeSpec[]): void {
    const now = this.clock();
    const wanted = new Map(specs.map((spec) => [spec.name, spec]));
    for (const name of this.records.keys()) {
      if (!wanted.has(name)) {
        if (this.records.get(name)?.candidate?.state === 'down') this.candidateDown -= 1;
        this.records.delete(name);
        this.logger.info({ node: name }, 'node removed from inventory');
      }
    }
    for (const spec of specs) {
      const existing = this.records.get(spec.name);
      if (existing) {
        existing.spec = spec;
      } else {
        this.records.set(spec.name, newRecord(spec, now));
        if (this.version > 0) this.logger.info({ node: spec.name, address: spec.address }, 'node added to inventory');
      }
    }
    this.index = new Map(specs.map((spec, position) => [spec.name, position]));
    this.markAll();
    this.flush(true);
  }

  inventory(): NodeSpec[] {
    return [...this.records.values()].map((record) => record.spec);
  }

  recordProbe(name: string, probe: ProbeObservation): void {
    const record = this.records.get(name);
    if (!record) return; // removed while the probe was in flight
    const tracker = record.tracker as { -readonly [K in keyof HealthTracker]: HealthTracker[K] };
    if (probe.outcome === 'available' && tracker.health === 'ready') {
      // What applyProbe would return, without a new object per probe: trackers never leave the core.
      tracker.successes += 1;
      tracker.failures = 0;
      tracker.last = keepLastProbe(record, probe);
      if (answerChangesNothing(record) && !this.overrides.has(name) && !this.dirty.has(name)) {
        // Nothing visible can move: only the observation time, which readers of snapshot() get.
        record.observedAt = newestObservationAt(record);
        this.stale.add(record);
        this.refreshed = true;
        return;
      }
    } else {
      record.tracker = applyProbe(tracker, probe, this.options);
    }
    this.markDirty(name);
  }

  /** Records the Management Node's view of one node (null: no longer listed). */
  recordManagement(name: string, observation: ManagementObservation | null): void {
    const record = this.records.get(name);
    if (!record) return;
    record.management = observation;
    this.markDirty(name);
  }

  setOverride(name: string, override: Override): void {
    this.overrides.set(name, override);
    this.logger.info(
      { node: name, override: override.state, reason: override.reason, by: override.by, expires_at: override.expiresAt && new Date(override.expiresAt).toISOString() },
      'override set',
    );
    this.markDirty(name);
    this.flush();
  }

  /** Clears an override; returns false when there was none. */
  clearOverride(name: string, by = 'unknown'): boolean {
    const existed = this.overrides.delete(name);
    if (existed) {
      this.logger.info({ node: name, by }, 'override cleared');
      this.markDirty(name);
      this.flush();
    }
    return existed;
  }

  /** Every override in force (including ones for names not in the inventory yet). */
  listOverrides(): Map<string, Override> {
    const now = this.clock();
    return new Map([...this.overrides].filter(([, override]) => override.expiresAt === null || override.expiresAt > now));
  }

  /**
   * Re-checks staleness and override expiry (called by the ticker). Only nodes whose newest
   * result has just aged past max_age are re-derived, so a tick costs a comparison per node.
   */
  tick(): void {
    const now = this.clock();
    this.expireOverrides(now);
    for (const [name, record] of this.records) {
      const last = record.tracker.last;
      if (last && record.verdict.state !== 'unknown' && now - last.at > this.options.maxAgeMs) this.dirty.add(name);
    }
    this.flush();
  }

  /** Derives dirty nodes and publishes a new snapshot if anything visible changed. */
  flush(forcePublish = false): void {
    if (this.flushScheduled) {
      clearImmediate(this.flushScheduled);
      this.flushScheduled = null;
    }
    if (this.dirty.size === 0 && !forcePublish) return;
    const now = this.clock();
    this.expireOverrides(now);
    for (const name of this.dirty) {
      const record = this.records.get(name);
      if (!record) continue;
      const wasDown = record.candidate?.state === 'down';
      record.candidate = this.derive(record, now);
      this.candidateDown += (record.candidate.state === 'down' ? 1 : 0) - (wasDown ? 1 : 0);
    }
    const guardWasActive = this.guard.active;
    this.updateGuard(now);
    if (guardWasActive && !this.guard.active) {
      for (const [name, record] of this.records) if (record.verdict.heldByGuard) this.dirty.add(name);
    }

    const nextVersion = this.version + 1;
    const transitions: Transition[] = [];
    const changes: NodeVerdict[] = [];
    let changed = forcePublish;
    for (const name of this.dirty) {
      const record = this.records.get(name);
      if (!record || !record.candidate) continue;
      const next = this.publishable(record, now, nextVersion);
      if (next === record.verdict) {
        // Only fresher (or nothing): the copy with the new observation time waits for a reader.
        if (record.observedAt !== next.observedAt) {
          this.stale.add(record);
          this.refreshed = true;
        }
        continue;
      }
      if (next.state !== record.verdict.state) {
        transitions.push({ name, from: record.verdict.state, to: next.state, reason: next.reason, at: now });
      }
      record.verdict = next;
      changes.push(next);
      changed = true;
    }
    this.dirty.clear();
    if (!changed) return;

    this.version = nextVersion;
    if (this.refreshed) this.freshen();
    this.refreshed = false;
    this.current = this.build(this.version, now);
    for (const transition of transitions) {
      this.logger.info({ node: transition.name, from: transition.from, to: transition.to, reason: transition.reason }, 'verdict changed');
    }
    const published = forcePublish ? undefined : changes;
    for (const listener of this.listeners) this.safely(() => listener(this.current, published));
    for (const transition of transitions) for (const listener of this.transitionListeners) this.safely(() => listener(transition));
  }

  /** Stops the ticker; idempotent. */
  close(): void {
    this.closed = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
  }

  private derive(record: NodeRecord, now: number): VerdictCore {
    const { rise, fall, maxAgeMs, policy, weightLoad } = this.options;
    const load = weightLoad ? weightLoad(record.spec.name, record.management, now) : undefined;
    record.steadyWeight = load === undefined || load === (record.management?.load ?? null);
    return deriveVerdict({
      tracker: record.tracker,
      management: record.management,
      override: this.activeOverride(record.spec.name, now),
      now,
      maxAgeMs,
      rules: { rise, fall },
      policy,
      ...(load === undefined ? {} : { weightLoad: load }),
    });
  }

  private updateGuard(now: number): void {
    const { guard_down_fraction: fraction, guard_min_nodes: minNodes } = this.options.policy;
    const downCount = this.candidateDown;
    const total = this.records.size;
    const active = total >= minNodes && downCount / total > fraction;
    if (active !== this.guard.active) {
      const fields = { down: downCount, total, fraction };
      if (active) this.logger.warn(fields, 'blast-radius guard active: too many nodes failing at once, holding last verdicts (is the prober\'s own network at fault?)');
      else this.logger.info(fields, 'blast-radius guard released');
    }
    this.guard = { active, downCount, total, since: active ? this.guard.since ?? now : null };
  }

  /** A frozen snapshot of every record's verdict, in inventory order. */
  private build(version: number, at: number): Snapshot {
    const nodes: NodeVerdict[] = new Array(this.index.size);
    for (const [name, position] of this.index) nodes[position] = (this.records.get(name) as NodeRecord).verdict;
    return new Snapshot(version, at, Object.freeze(nodes), this.index, Object.freeze({ ...this.guard }));
  }

  /**
   * The verdict to publish for a record: the previous object when nothing changed, a copy with the
   * new observation time (and the previous version) when only that changed, else a new verdict at
   * `version`. Verdicts are frozen: a published one is never changed in place.
   */
  private publishable(record: NodeRecord, now: number, version: number): NodeVerdict {
    const previous = record.verdict;
    let core = record.candidate as VerdictCore;
    let held = false;
    if (this.guard.active && core.state === 'down' && previous.state !== 'down') {
      core = { ...previous, reason: previous.reason.replace(/ \[held by guard\]$/, '') + ' [held by guard]' };
      held = true;
    }
    const calls = record.management?.calls ?? null;
    if (core.state === 'draining' && calls === 0) record.drainedSince ??= record.management?.at ?? now;
    else record.drainedSince = null;
    const override = this.activeOverride(record.spec.name, now);
    const last = record.tracker.last;
    const observedAt = newestObservationAt(record);
    record.observedAt = observedAt;
    const { spec } = record;
    // Nothing visible changed: keep the published object (no allocation on the common path).
    if (sameVisible(previous, spec, core, override, calls, record.drainedSince, held)) return previous;
    const visible: VisibleFields = {
      address: spec.address,
      port: spec.port,
      statusUrl: spec.statusUrl,
      source: spec.source,
      state: core.state,
      weight: core.weight,
      load: core.load,
      maintenance: core.maintenance,
      degraded: core.degraded,
      reason: core.reason,
      override,
      calls,
      drainedSince: record.drainedSince,
      heldByGuard: held,
    };
    if (previous.version !== 0 && VISIBLE_FIELDS.every((field) => previous[field] === visible[field])) return previous;
    return Object.freeze({
      name: spec.name,
      ...visible,
      probe: probeView(last),
      since: previous.state === core.state && previous.version !== 0 ? previous.since : now,
      observedAt,
      version,
    });
  }

  /** Gives every verdict behind its record's newest observation time a frozen copy that has it. */
  private freshen(): void {
    for (const record of this.stale) {
      if (record.verdict.observedAt !== record.observedAt && this.records.get(record.spec.name) === record) {
        // The probe summary travels with the time: an unchanged verdict must not show an older result.
        record.verdict = Object.freeze({ ...record.verdict, observedAt: record.observedAt, probe: probeView(record.tracker.last) });
      }
    }
    this.stale.clear();
  }

  /** Drops expired overrides before deriving, so listeners never see an expired one in `listOverrides()`. */
  private expireOverrides(now: number): void {
    for (const [name, override] of this.overrides) {
      if (override.expiresAt !== null && override.expiresAt <= now) {
        this.overrides.delete(name);
        this.dirty.add(name);
        this.logger.info({ node: name, override: override.state, reason: override.reason }, 'override expired');
      }
    }
  }

  /** The override in force at `now` (an expired one counts as gone before the ticker removes it). */
  private activeOverride(name: string, now: number): Override | null {
    const override = this.overrides.get(name);
    return override && (override.expiresAt === null || override.expiresAt > now) ? override : null;
  }

  private markDirty(name: string): void {
    this.dirty.add(name);
    this.scheduleFlush();
  }

  private markAll(): void {
    for (const name of this.records.keys()) this.dirty.add(name);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = setImmediate(() => {
      this.flushScheduled = null;
      this.flush();
    });
  }

  private safely(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.logger.error({ err: error }, 'snapshot listener failed');
    }
  }
}
