// Runs maintenance plans: feeds verdicts and sweeps to the pure plan rules, makes their writes, persists, audits and counts.

import { randomBytes } from 'node:crypto';
import { Counter, Gauge } from 'prom-client';
import { MaintenanceEntries } from '../core/maintenance-entries.js';
import { cancelPlan, checkPlanNodes, createPlan, isActive, recordWrite, resumePlan, stepPlan } from '../core/maintenance-plan.js';
import { PlanStore } from '../persist/plan-store.js';
import { sameValue } from './reload-plan.js';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import type { Plan, PlanCandidate, PlanEvent, PlanNodeObservation, PlanObservations } from '../core/maintenance-plan.js';
import type { NodeVerdict, Snapshot, SnapshotSource } from '../core/snapshot.js';
import type { ProbeObservation } from '../core/verdict.js';
import type { ExitResult, MaintenanceController, PlanRequest, StartResult } from '../operator/api/maintenance.js';
import type { SweepResult } from '../sources/management/poller.js';
import { ManagementWriter } from '../sources/management/writes.js';
import type { ManagementSettings } from '../sources/management/source.js';
import type { WriteOutcome } from '../sources/management/writes.js';

/** The part of `ManagementWriter` the runner uses (tests may pass their own). */
export type PlanWriter = {
  setMaintenance(configurationId: number, maintenance: boolean, reason: string | null, options?: { signal?: AbortSignal }): Promise<WriteOutcome>;
};

export type MaintenanceRunnerOptions = {
  source: SnapshotSource;
  config: () => Config;
  logger: Logger;
  clock: () => number;
  /** The current Management Node settings (null: none configured); a writer is built from them while `maintenance_writes` is on. */
  management: () => ManagementSettings | null;
  /** Replaces the writer built from `management` (tests). */
  writer?: () => PlanWriter | null;
  /** Registry for the maintenance metrics (null: none). */
  registry: Registry | null;
  /** Plan ids (default 8 random hex digits). */
  newId?: () => string;
  confirmTimeoutMs?: number;
  /** Re-check at least this often while a plan runs (default 1000 ms): the clock moves without new observations. */
  heartbeatMs?: number;
};

type SweepNode = { configurationId: number | null; maintenance: boolean; at: number; capacity: number | null };

/**
 * One plan at a time per drainwatch. Steps on every new snapshot, every Management Node sweep and a
 * heartbeat; a node's write is persisted as started before it is sent, so a restart resumes the
 * plan without writing a node twice.
 *
 * @example
 * const runner = new MaintenanceRunner({ source: core, config, logger, clock, writer: () => writer, registry });
 * runner.start();                      // loads and resumes a saved plan
 * poller.onSweep = (r) => runner.observeSweep(r);
 * await runner.start({ nodes: ['px01'], reason: 'upgrade', spacingMs: null, by: 'ops' });
 */
export class MaintenanceRunner implements MaintenanceController {
  private plan: Plan | null = null;
  private readonly store: PlanStore;
  private sweep: Map<string, SweepNode> | null = null;
  /** The newest probe result per plan node while a plan is followed, straight from the scheduler (ahead of the snapshot until the core flushes). */
  private readonly probes = new Map<string, { maintenance: boolean; at: number }>();
  private readonly managementEntries = new MaintenanceEntries();
  private readonly probeEntries = new MaintenanceEntries();
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private pending = false;
  private loop: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private built: { key: string; writer: ManagementWriter } | null = null;
  private ended = false;
  private readonly metrics: { plans: Counter<'result'>; writes: Counter<'action' | 'result'>; events: Counter<'kind'> } | null;

  constructor(private readonly options: MaintenanceRunnerOptions) {
    this.logger = options.logger.child({ component: 'maintenance' });
    this.store = new PlanStore({ stateFile: options.config().state.file, logger: this.logger, clock: options.clock });
    const registers = options.registry ? [options.registry] : [];
    this.metrics = options.registry
      ? {
          plans: new Counter({ name: 'drainwatch_maintenance_plans_total', help: 'Maintenance plans by outcome (started, done, cancelled, failed).', labelNames: ['result'] as const, registers }),
          writes: new Counter({ name: 'drainwatch_maintenance_writes_total', help: 'maintenance_mode writes to the Management Node, by action (enter, exit) and result (ok, failed).', labelNames: ['action', 'result'] as const, registers }),
          events: new Counter({ name: 'drainwatch_maintenance_plan_events_total', help: 'Maintenance plan steps by kind (entering, entered, drained, waiting, node_failed, ...).', labelNames: ['kind'] as const, registers }),
        }
      : null;
    if (options.registry) {
      const runner = this;
      new Gauge({
        name: 'drainwatch_maintenance_plan_nodes',
        help: 'Nodes of the current maintenance plan, by plan node state.',
        labelNames: ['state'] as const,
        registers,
        collect() {
          this.reset();
          for (const node of runner.plan?.nodes ?? []) this.inc({ state: node.state });
        },
      });
      new Gauge({
        name: 'drainwatch_maintenance_plan_waiting',
        help: '1 while the current plan waits on a guard (capacity, another node entering), else 0.',
        registers,
        collect() {
          this.set(runner.plan?.state === 'waiting' ? 1 : 0);
        },
      });
    }
  }

  /** Loads the saved plan (resuming an active one), then follows snapshots. */
  startRunning(): void {
    const loaded = this.store.load();
    if (loaded) {
      const resumed = isActive(loaded) ? resumePlan(loaded, this.options.clock()) : { plan: loaded, events: [] };
      this.plan = resumed.plan;
      this.log(resumed.events);
      if (isActive(loaded)) this.logger.info({ audit: 'maintenance.resume', plan: loaded.id, file: this.store.path }, `resumed maintenance plan ${loaded.id} from ${this.store.path}`);
    }
    this.unsubscribe = this.options.source.onChange((snapshot, changed) => this.observeSnapshot(snapshot, changed));
    this.observeSnapshot(this.options.source.snapshot());
  }

  current(): Plan | null {
    return this.plan;
  }

  /** The writer for the current settings; rebuilt when they change, null while writes are off. */
  private writer(): PlanWriter | null {
    if (this.options.writer) return this.options.writer();
    const settings = this.options.management();
    if (!settings?.management.maintenance_writes) return null;
    const { management, secrets, tls } = settings;
    const key = JSON.stringify([management, secrets.managementPassword, secrets.managementToken, tls.insecureSkipVerify, tls.ca?.length]);
    if (this.built?.key !== key) {
      void this.built?.writer.close().catch(() => undefined);
      const writer = new ManagementWriter({
        url: management.url,
        username: management.username,
        password: secrets.managementPassword,
        token: secrets.managementToken,
        timeoutMs: management.timeout,
        tls,
      });
      this.built = { key, writer };
    }
    return this.built.writer;
  }

  /** A good Management Node sweep: configuration ids, maintenance flags (and who turned one on), capacity. */
  observeSweep(result: SweepResult): void {
    const sweep = new Map<string, SweepNode>();
    for (const status of result.statuses) {
      sweep.set(status.name, { configurationId: status.configurationId, maintenance: status.maintenance, at: result.at, capacity: result.capacity.get(status.name) ?? null });
    }
    this.sweep = sweep;
    this.managementEntries.observe(new Map([...sweep].map(([name, s]) => [name, s.maintenance])), result.at);
    this.kick();
  }

  /**
   * Every probe result: whether the node's status endpoint answered 503 ("maintenance"), and when.
   * Called per probe: nothing happens unless a plan is being followed, and then only for its nodes.
   */
  observeProbe(name: string, observation: ProbeObservation): void {
    const plan = this.plan;
    if (!plan || !this.following(plan)) return;
    let node: Plan['nodes'][number] | null = null;
    for (const n of plan.nodes) {
      if (n.name === name) {
        node = n;
        break;
      }
    }
    if (!node) return;
    const maintenance = observation.outcome === 'maintenance';
    const seen = this.probes.get(name);
    const changed = seen?.maintenance !== maintenance;
    // The runner's own record (not in any snapshot): updated in place.
    if (seen) {
      seen.maintenance = maintenance;
      seen.at = observation.at;
    } else {
      this.probes.set(name, { maintenance, at: observation.at });
    }
    // Only a change matters to an entering node; the heartbeat covers the rest.
    if (changed && node.state === 'entering') this.kick();
  }

  private observeSnapshot(snapshot: Snapshot, changed?: readonly NodeVerdict[]): void {
    // Entries are watched fleet-wide with or without a plan (the spacing check at start needs them),
    // but only through the verdicts that changed; `changed` is absent when the inventory was re-published.
    if (changed) {
      // A down or unknown node's flag says nothing (a rebooting node is not leaving maintenance).
      for (const v of changed) this.probeEntries.observeOne(v.name, v.state === 'down' || v.state === 'unknown' ? null : v.maintenance, snapshot.at);
    } else {
      const flags = new Map(snapshot.nodes.filter((v) => v.state !== 'down' && v.state !== 'unknown').map((v) => [v.name, v.maintenance]));
      this.probeEntries.observe(flags, snapshot.at);
    }
    this.kick();
  }

  private spacingWindow(): number {
    return Math.max(this.plan?.spacingMs ?? 0, this.options.config().policy.maintenance_spacing);
  }

  /** Nodes that entered maintenance recently, through the Management Node or their own status endpoint. */
  private entries(now: number): { name: string; at: number }[] {
    const window = this.spacingWindow();
    const latest = new Map<string, number>();
    for (const entry of [...this.managementEntries.entries(now, window), ...this.probeEntries.entries(now, window)]) {
      latest.set(entry.name, Math.max(latest.get(entry.name) ?? 0, entry.at));
    }
    return [...latest].map(([name, at]) => ({ name, at }));
  }

  private observations(now: number): PlanObservations {
    const nodes = new Map<string, PlanNodeObservation>();
    for (const v of this.options.source.snapshot().nodes) {
      const s = this.sweep?.get(v.name);
      nodes.set(v.name, {
        state: v.state,
        management: s ? { maintenance: s.maintenance, at: s.at } : null,
        probe: this.probe(v),
        calls: v.calls,
        drainedSince: v.drainedSince,
        capacity: s?.capacity ?? null,
      });
    }
    const obs: PlanObservations = { now, nodes, entries: this.entries(now), minReadyCapacity: this.options.config().policy.min_ready_capacity };
    if (this.options.confirmTimeoutMs !== undefined) obs.confirmTimeoutMs = this.options.confirmTimeoutMs;
    return obs;
  }

  /** The newer of the runner's own record (plan nodes, while a plan is followed) and the snapshot's. */
  private probe(v: NodeVerdict): { maintenance: boolean; at: number } | null {
    const own = this.probes.get(v.name);
    const seen = v.probe ? { maintenance: v.probe.reason === 'maintenance', at: v.probe.at } : null;
    if (own && (!seen || own.at >= seen.at)) return { maintenance: own.maintenance, at: own.at };
    return seen;
  }

  async start(request: PlanRequest): Promise<StartResult> {
    if (this.ended) return { ok: false, status: 409, problems: ['drainwatch is shutting down'] };
    if (!this.writer()) {
      return { ok: false, status: 409, problems: ['maintenance writes are disabled (management.maintenance_writes is false or no management section is configured)'] };
    }
    const running = this.plan;
    if (running && isActive(running)) {
      return { ok: false, status: 409, problems: [`plan ${running.id} is ${running.state} (started by ${running.createdBy}); cancel it with DELETE /api/v1/maintenance or wait until it ends`] };
    }
    const now = this.options.clock();
    const spacingMs = request.spacingMs ?? this.options.config().policy.maintenance_spacing;
    const recent = this.entries(now).filter((e) => e.at > now - spacingMs);
    if (recent.length > 0) {
      const list = recent.map((e) => `${e.name} ${Math.round((now - e.at) / 1000)}s ago`).join(', ');
      return {
        ok: false,
        status: 409,
        problems: [`another node entered maintenance within the spacing (${list}), perhaps through another drainwatch or an administrator; start the plan once ${Math.round(spacingMs / 1000)}s have passed`],
      };
    }
    if (!this.sweep) return { ok: false, status: 409, problems: ['no Management Node sweep has succeeded yet, so configuration ids are unknown; try again after the next sweep'] };
    const problems = checkPlanNodes(request.nodes, this.candidates());
    if (problems.length > 0) return { ok: false, status: 400, problems };
    const plan = createPlan({
      id: this.options.newId?.() ?? randomBytes(4).toString('hex'),
      nodes: request.nodes.map((name) => ({ name, configurationId: this.sweep?.get(name)?.configurationId ?? null })),
      reason: request.reason,
      spacingMs,
      createdBy: request.by,
      now,
    });
    this.plan = plan;
    // Probe records are kept for a followed plan's nodes only: start this plan's afresh.
    this.probes.clear();
    this.metrics?.plans.inc({ result: 'started' });
    this.logger.info(
      { audit: 'maintenance.start', plan: plan.id, nodes: request.nodes, reason: plan.reason, spacing_ms: spacingMs, by: request.by },
      `maintenance plan ${plan.id} started by ${request.by}: ${request.nodes.join(', ')} (${plan.reason})`,
    );
    await this.store.save(plan);
    this.kick();
    return { ok: true, plan };
  }

  private candidates(): Map<string, PlanCandidate> {
    const fleet = new Map<string, PlanCandidate>();
    for (const v of this.options.source.snapshot().nodes) {
      const s = this.sweep?.get(v.name);
      fleet.set(v.name, { listed: s !== undefined, configurationId: s?.configurationId ?? null, maintenance: v.maintenance || s?.maintenance === true });
    }
    return fleet;
  }

  async cancel(by: string): Promise<Plan | null> {
    if (!this.plan || !isActive(this.plan)) return null;
    const { plan, events } = cancelPlan(this.plan, this.options.clock(), by);
    this.plan = plan;
    this.metrics?.plans.inc({ result: 'cancelled' });
    this.log(events, { audit: 'maintenance.cancel', by });
    await this.store.save(plan);
    return plan;
  }

  async exit(nodes: string[], by: string): Promise<ExitResult> {
    const fleet = this.candidates();
    const problems: string[] = [];
    for (const name of nodes) {
      const node = fleet.get(name);
      if (!node) problems.push(`unknown node "${name}" (known: ${[...fleet.keys()].join(', ') || 'none'})`);
      else if (!node.listed || node.configurationId === null) problems.push(`the Management Node does not list "${name}" with a configuration_id, so there is no configuration record to write`);
    }
    if (new Set(nodes).size !== nodes.length) problems.push('a node is listed twice');
    const writer = this.writer();
    if (!writer) problems.push('maintenance writes are disabled (management.maintenance_writes is false)');
    if (problems.length > 0 || !writer) return { ok: false, status: 400, problems };
    const results: { name: string; ok: boolean; detail: string }[] = [];
    for (const name of nodes) {
      const id = fleet.get(name)?.configurationId as number;
      const outcome = await writer.setMaintenance(id, false, null, { signal: this.abort.signal });
      this.metrics?.writes.inc({ action: 'exit', result: outcome.ok ? 'ok' : 'failed' });
      const detail = outcome.ok ? 'maintenance_mode set to false' : outcome.detail;
      results.push({ name, ok: outcome.ok, detail });
      const fields = { audit: 'maintenance.exit', node: name, configuration_id: id, by, ok: outcome.ok, detail };
      if (outcome.ok) this.logger.info(fields, `${name} taken out of maintenance by ${by}`);
      else this.logger.error(fields, `taking ${name} out of maintenance failed: ${detail}`);
    }
    this.kick();
    return { ok: results.every((r) => r.ok), results };
  }

  /** Asks for a step; steps never overlap, and requests made meanwhile fold into one more. */
  private kick(): void {
    if (this.ended || !this.plan || !this.following(this.plan)) return;
    this.pending = true;
    this.loop ??= this.run().finally(() => {
      this.loop = null;
    });
  }

  private async run(): Promise<void> {
    while (this.pending && !this.ended) {
      this.pending = false;
      try {
        await this.step();
      } catch (error) {
        this.logger.error({ err: error }, 'maintenance plan step failed; trying again on the next observation');
      }
    }
  }

  private following(plan: Plan): boolean {
    return isActive(plan) || plan.nodes.some((node) => node.state === 'entering' || node.state === 'draining');
  }

  private async step(): Promise<void> {
    const before = this.plan;
    // No guard or confirmation can be judged before the first sweep (after a restart too): wait for it.
    if (!before || !this.following(before) || !this.sweep) return;
    const now = this.options.clock();
    const { plan, actions, events, wakeAt } = stepPlan(before, this.observations(now));
    this.plan = plan;
    this.log(events);
    if (!sameValue(plan, before)) await this.store.save(plan); // stepPlan returns a copy: save only a real change
    this.schedule(wakeAt, now);
    for (const action of actions) {
      const writer = this.writer();
      // The opt-in was turned off by a reload: write nothing, and fail the node so the plan stops visibly.
      const outcome: WriteOutcome = writer
        ? await writer.setMaintenance(action.configurationId, true, action.reason, { signal: this.abort.signal })
        : { ok: false, status: null, kind: 'aborted', detail: 'management.maintenance_writes was turned off', attempts: 0 };
      if (this.ended && !outcome.ok) return;
      this.metrics?.writes.inc({ action: 'enter', result: outcome.ok ? 'ok' : 'failed' });
      const at = this.options.clock();
      const recorded = recordWrite(this.plan as Plan, action.node, outcome.ok ? { ok: true, at } : { ok: false, at, detail: outcome.detail });
      this.plan = recorded.plan;
      this.log(recorded.events, { configuration_id: action.configurationId, maintenance_mode_reason: action.reason, attempts: outcome.attempts });
      await this.store.save(recorded.plan);
      this.pending = true;
    }
  }

  private schedule(wakeAt: number | null, now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.ended || !this.plan || !this.following(this.plan)) return;
    const heartbeat = now + (this.options.heartbeatMs ?? 1000);
    const at = wakeAt === null ? heartbeat : Math.min(wakeAt, heartbeat);
    this.timer = setTimeout(() => this.kick(), Math.max(0, at - now));
    this.timer.unref();
  }

  private log(events: readonly PlanEvent[], extra: Record<string, unknown> = {}): void {
    const plan = this.plan;
    for (const event of events) {
      this.metrics?.events.inc({ kind: event.kind });
      if (event.kind === 'done' || event.kind === 'failed') this.metrics?.plans.inc({ result: event.kind });
      const fields = { audit: `maintenance.${event.kind}`, plan: plan?.id, node: event.node, ...extra };
      if (event.kind === 'node_failed' || event.kind === 'failed') this.logger.error(fields, event.message);
      else if (event.kind === 'waiting') this.logger.warn(fields, event.message);
      else this.logger.info(fields, event.message);
    }
  }

  /** After a config reload: follow a moved `state.file` (the plan is written there at once) and re-check the guards. */
  async reload(): Promise<void> {
    const before = this.store.path;
    this.store.setStateFile(this.options.config().state.file);
    if (this.store.path !== before) {
      this.logger.info({ from: before, to: this.store.path }, 'state.file changed: writing the maintenance plan next to the new file');
      await this.store.save(this.plan);
    }
    this.kick();
  }

  /** Stops stepping and lets a write in flight finish; the plan stays saved for the next start. Idempotent. */
  async close(): Promise<void> {
    this.ended = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.loop;
    await this.store.save(this.plan);
    await this.built?.writer.close().catch(() => undefined);
  }

  /** Aborts a write in flight (its node stays `entering`; a restart will not write it again). Idempotent. */
  async destroy(): Promise<void> {
    this.abort.abort();
    await this.built?.writer.destroy().catch(() => undefined);
    await this.close();
  }
}
