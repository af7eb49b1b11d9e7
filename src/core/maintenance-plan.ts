// Maintenance plan rules (pure): Pexip's "one node at a time, a couple of minutes apart, wait for calls to end" as a state machine.

import type { NodeState } from './verdict.js';

/** Where one node of a plan is. */
export type PlanNodeState = 'queued' | 'entering' | 'draining' | 'drained' | 'failed';
/** Where the plan is: `waiting` means a guard holds the next node back (see `waitingReason`). */
export type PlanState = 'running' | 'waiting' | 'done' | 'cancelled' | 'failed';

export type PlanNode = {
  name: string;
  /** The configuration worker_vm `{id}` (the status record's `configuration_id`). */
  configurationId: number | null;
  state: PlanNodeState;
  /** When the write was handed to the writer; persisted before it is sent, so a restart never sends it twice. */
  writeStartedAt: number | null;
  /** When the Management Node accepted the write (the node entered maintenance); null when the plan did not write it. */
  writtenAt: number | null;
  /** When the node was in maintenance for the plan's purposes (written, or found already in maintenance). */
  enteredAt: number | null;
  /** When both the Management Node and the node's own status endpoint showed maintenance. */
  confirmedAt: number | null;
  /** When its calls reached 0 (the verdict's `drainedSince`, never before `enteredAt`). */
  drainedAt: number | null;
  calls: number | null;
  detail: string;
};

export type Plan = {
  id: string;
  state: PlanState;
  reason: string;
  spacingMs: number;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
  waitingReason: string | null;
  /** The next node to enter and the earliest time it may (null when it waits on a guard without a known end). */
  next: { name: string; notBefore: number | null } | null;
  nodes: PlanNode[];
};

/** What drainwatch currently knows about one node, from its verdict and the last Management Node record. */
export type PlanNodeObservation = {
  state: NodeState;
  /** The Management Node's maintenance flag and the time of that sweep; null when not listed. */
  management: { maintenance: boolean; at: number } | null;
  /** Whether the node's own status endpoint answered 503, and when; null before any probe. */
  probe: { maintenance: boolean; at: number } | null;
  calls: number | null;
  /** The verdict's `drainedSince`: when a draining node's calls reached 0. */
  drainedSince: number | null;
  /** max_media_tokens, or null when unknown. */
  capacity: number | null;
};

export type PlanObservations = {
  now: number;
  /** Every node in the inventory. */
  nodes: ReadonlyMap<string, PlanNodeObservation>;
  /** Nodes seen entering maintenance through the Management Node (by anyone), with when. */
  entries: readonly { name: string; at: number }[];
  /** policy.min_ready_capacity (fraction 0..1). */
  minReadyCapacity: number;
  /** How long a written node may take to show maintenance on both sources (default 5 minutes). */
  confirmTimeoutMs?: number;
};

/** Something the runner must do: write `maintenance_mode: true` for one node. */
export type PlanAction = { type: 'enter'; node: string; configurationId: number; reason: string };

export type PlanEventKind = 'entering' | 'written' | 'entered' | 'drained' | 'waiting' | 'node_failed' | 'done' | 'failed' | 'cancelled';

/** A step worth logging and auditing. */
export type PlanEvent = { kind: PlanEventKind; node: string | null; message: string };

export type PlanStep = { plan: Plan; actions: PlanAction[]; events: PlanEvent[]; wakeAt: number | null };

export const DEFAULT_CONFIRM_TIMEOUT_MS = 300_000;

const ACTIVE: readonly PlanState[] = ['running', 'waiting'];

/** True while a plan may still write (running or waiting). */
export function isActive(plan: Plan | null): boolean {
  return plan !== null && ACTIVE.includes(plan.state);
}

/** True while a plan has a node being written or not yet confirmed in maintenance. */
export function isEntering(plan: Plan | null): boolean {
  return plan !== null && plan.nodes.some((node) => node.state === 'entering');
}

/** The reason written to the Management Node, so Pexip's own interface shows who did it. */
export function maintenanceReason(plan: Pick<Plan, 'id' | 'reason'>): string {
  return `${plan.reason} (drainwatch plan ${plan.id})`;
}

function seconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 120 ? `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}` : `${s}s`;
}

/** What the request check needs about each inventory node. */
export type PlanCandidate = { listed: boolean; configurationId: number | null; maintenance: boolean };

/**
 * Every problem with a requested node list, as sentences (empty: the plan may start).
 *
 * @example checkPlanNodes(['px01', 'px09'], fleet) // ['unknown node "px09" (known: px01, px02)']
 */
export function checkPlanNodes(names: readonly string[], fleet: ReadonlyMap<string, PlanCandidate>): string[] {
  const problems: string[] = [];
  if (names.length === 0) problems.push('"nodes" is empty: list the nodes to take out of service, in order');
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      problems.push(`"${name}" is listed twice`);
      continue;
    }
    seen.add(name);
    const node = fleet.get(name);
    if (!node) problems.push(`unknown node "${name}" (known: ${[...fleet.keys()].join(', ') || 'none'})`);
    else if (!node.listed) problems.push(`the Management Node does not list "${name}", so there is no configuration record to write`);
    else if (node.configurationId === null) problems.push(`the Management Node's status record of "${name}" has no configuration_id, so there is no configuration record to write`);
    else if (node.maintenance) problems.push(`"${name}" is already in maintenance`);
  }
  return problems;
}

export type NewPlan = {
  id: string;
  nodes: readonly { name: string; configurationId: number | null }[];
  reason: string;
  spacingMs: number;
  createdBy: string;
  now: number;
};

/**
 * A new plan with every node queued; `stepPlan` takes it from there.
 *
 * @example createPlan({ id: 'p1', nodes: [{ name: 'px01', configurationId: 1 }], reason: 'upgrade', spacingMs: 120_000, createdBy: 'ops', now })
 */
export function createPlan(input: NewPlan): Plan {
  return {
    id: input.id,
    state: 'running',
    reason: input.reason,
    spacingMs: input.spacingMs,
    createdBy: input.createdBy,
    createdAt: input.now,
    updatedAt: input.now,
    endedAt: null,
    waitingReason: null,
    next: input.nodes[0] ? { name: input.nodes[0].name, notBefore: input.now } : null,
    nodes: input.nodes.map((node) => ({
      name: node.name, configurationId: node.configurationId, state: 'queued', writeStartedAt: null, writtenAt: null,
      enteredAt: null, confirmedAt: null, drainedAt: null, calls: null, detail: 'queued',
    })),
  };
}

function clone(plan: Plan): Plan {
  return { ...plan, next: plan.next && { ...plan.next }, nodes: plan.nodes.map((node) => ({ ...node })) };
}

function end(plan: Plan, state: 'done' | 'failed' | 'cancelled', now: number): void {
  plan.state = state;
  plan.endedAt = now;
  plan.waitingReason = null;
  plan.next = null;
}

function inMaintenance(o: PlanNodeObservation | undefined): boolean {
  return o !== undefined && (o.management?.maintenance === true || o.probe?.maintenance === true);
}

/** Follows nodes already entered: confirmation, calls, drained, or leaving maintenance behind the plan's back. */
function follow(node: PlanNode, o: PlanNodeObservation | undefined, now: number, confirmTimeoutMs: number, events: PlanEvent[]): void {
  if (node.state === 'entering' && node.writtenAt !== null) {
    // The node was out of maintenance when its write started, so any later maintenance observation is
    // the write's effect (a probe may well land between the Management Node applying it and its answer).
    const since = node.writeStartedAt ?? node.writtenAt;
    const management = o?.management?.maintenance === true && o.management.at >= since;
    const probe = o?.probe?.maintenance === true && o.probe.at >= since;
    if (management && probe) {
      node.state = 'draining';
      node.confirmedAt = now;
      events.push({ kind: 'entered', node: node.name, message: `${node.name} is in maintenance (confirmed by the Management Node and the node's status endpoint)` });
    } else if (now - node.writtenAt >= confirmTimeoutMs) {
      node.state = 'failed';
      const missing = [management ? null : 'the Management Node', probe ? null : "the node's status endpoint"].filter(Boolean).join(' and ');
      node.detail = `not seen in maintenance by ${missing} within ${seconds(confirmTimeoutMs)} of the write`;
      events.push({ kind: 'node_failed', node: node.name, message: `${node.name} failed: ${node.detail}` });
      return;
    } else {
      node.detail = 'written; waiting for the next status sweep and probe to show maintenance';
      return;
    }
  }
  if (node.state !== 'draining' || !o) return;
  node.calls = o.calls;
  const entered = node.enteredAt ?? now;
  if (o.drainedSince !== null) {
    node.state = 'drained';
    node.drainedAt = Math.max(o.drainedSince, entered);
    node.calls = 0;
    node.detail = `drained ${seconds(node.drainedAt - entered)} after entering maintenance`;
    events.push({ kind: 'drained', node: node.name, message: `${node.name} has no calls left: ${node.detail}` });
    return;
  }
  const left = o.management !== null && !o.management.maintenance && o.management.at > (node.confirmedAt ?? entered) && o.probe?.maintenance !== true;
  if (left) {
    node.state = 'failed';
    node.detail = 'left maintenance before its calls ended (taken out outside this plan)';
    events.push({ kind: 'node_failed', node: node.name, message: `${node.name} failed: ${node.detail}` });
    return;
  }
  node.detail = o.calls === null ? 'in maintenance; calls unknown' : `in maintenance; ${o.calls} call(s) left`;
}

/**
 * Whether a node counts as ready capacity: its verdict is ready and neither source has since shown it
 * in maintenance. The runner's own probe record and the sweep can be newer than the verdict (a 503
 * seen in this turn is published with the next snapshot), and a node just entered must not be
 * counted as capacity while the next one is weighed.
 */
function takesCalls(o: PlanNodeObservation): boolean {
  return o.state === 'ready' && o.probe?.maintenance !== true && o.management?.maintenance !== true;
}

/** Ready capacity after taking `candidate` out, against `min`; null when the guard holds, else the message. */
function capacityProblem(candidate: string, obs: PlanObservations): string | null {
  const nodes = [...obs.nodes].filter(([, o]) => o.state !== 'unknown');
  if (nodes.length === 0 || obs.minReadyCapacity <= 0) return null;
  const useKnown = nodes.every(([, o]) => o.capacity !== null && o.capacity > 0);
  let total = 0;
  let ready = 0;
  for (const [name, o] of nodes) {
    const capacity = useKnown ? (o.capacity as number) : 1;
    total += capacity;
    if (name !== candidate && takesCalls(o)) ready += capacity;
  }
  const fraction = ready / total;
  if (fraction >= obs.minReadyCapacity) return null;
  return `entering ${candidate} would leave ${(fraction * 100).toFixed(0)}% of the fleet's capacity on ready nodes, below policy.min_ready_capacity ${(obs.minReadyCapacity * 100).toFixed(0)}%`;
}

/**
 * One step of a plan: follows entered nodes, then — strictly in order, one at a time — lets the
 * next queued node enter once `spacing` has passed since the previous one was confirmed in maintenance and the guards
 * hold (ready capacity stays at or above `min_ready_capacity`; no other node entered maintenance
 * within `spacing`). Returns the new plan (the input is not changed), the writes to make, the
 * events to log, and when to step again at the latest (null: on the next observation).
 *
 * @example
 * const { plan: next, actions } = stepPlan(plan, { now, nodes, entries: [], minReadyCapacity: 0.5 });
 * for (const action of actions) writer.setMaintenance(action.configurationId, true, action.reason);
 */
export function stepPlan(input: Plan, obs: PlanObservations): PlanStep {
  const plan = clone(input);
  const { now } = obs;
  const confirmTimeoutMs = obs.confirmTimeoutMs ?? DEFAULT_CONFIRM_TIMEOUT_MS;
  const events: PlanEvent[] = [];
  const actions: PlanAction[] = [];
  let wakeAt: number | null = null;
  const wake = (at: number) => {
    wakeAt = wakeAt === null ? at : Math.min(wakeAt, at);
  };
  for (const node of plan.nodes) {
    const before = node.state;
    follow(node, obs.nodes.get(node.name), now, confirmTimeoutMs, events);
    if (node.state === 'entering' && node.writtenAt !== null) wake(node.writtenAt + confirmTimeoutMs);
    if (before !== node.state) plan.updatedAt = now;
  }
  const finish = (): PlanStep => ({ plan, actions, events, wakeAt });
  if (!isActive(plan)) return finish();
  const failed = plan.nodes.find((node) => node.state === 'failed');
  if (failed) {
    end(plan, 'failed', now);
    events.push({ kind: 'failed', node: failed.name, message: `plan ${plan.id} stopped: ${failed.name} ${failed.detail}; nodes still queued are not entered` });
    return finish();
  }
  // Strictly one at a time: nothing more until the node being entered is confirmed.
  if (plan.nodes.some((node) => node.state === 'entering')) {
    plan.state = 'running';
    plan.waitingReason = null;
    return finish();
  }
  const ours = new Set(plan.nodes.filter((node) => node.writtenAt !== null).map((node) => node.name));
  for (const candidate of plan.nodes) {
    if (candidate.state !== 'queued') continue;
    const o = obs.nodes.get(candidate.name);
    if (!o || candidate.configurationId === null) {
      candidate.state = 'failed';
      candidate.detail = o ? 'has no configuration_id in the Management Node\'s status record' : 'is no longer in the inventory';
      events.push({ kind: 'node_failed', node: candidate.name, message: `${candidate.name} failed: it ${candidate.detail}` });
      end(plan, 'failed', now);
      plan.updatedAt = now;
      events.push({ kind: 'failed', node: candidate.name, message: `plan ${plan.id} stopped: ${candidate.name} ${candidate.detail}` });
      return finish();
    }
    if (inMaintenance(o)) {
      // Someone else took it out meanwhile: follow its calls, write nothing.
      candidate.state = 'draining';
      candidate.enteredAt = now;
      candidate.confirmedAt = now;
      candidate.detail = 'was already in maintenance (set outside this plan); not written';
      plan.updatedAt = now;
      events.push({ kind: 'entered', node: candidate.name, message: `${candidate.name} ${candidate.detail}` });
      follow(candidate, o, now, confirmTimeoutMs, events);
      continue;
    }
    // Spacing runs from when the previous node was seen in maintenance (confirmed), not from its write:
    // that is what every other observer (another replica, the spacing warning) measures from.
    const lastEntry = Math.max(...plan.nodes.map((node) => (node.writtenAt === null ? -Infinity : (node.confirmedAt ?? node.writtenAt))));
    const spacingEnds = lastEntry + plan.spacingMs;
    const waitOn = (reason: string | null, notBefore: number | null) => {
      const changed = plan.waitingReason !== reason || plan.state !== (reason ? 'waiting' : 'running');
      plan.state = reason ? 'waiting' : 'running';
      plan.waitingReason = reason;
      plan.next = { name: candidate.name, notBefore };
      if (notBefore !== null) wake(notBefore);
      if (changed) plan.updatedAt = now;
      if (changed && reason) events.push({ kind: 'waiting', node: candidate.name, message: `plan ${plan.id} waits before ${candidate.name}: ${reason}` });
      candidate.detail = reason ? `waiting: ${reason}` : notBefore !== null && notBefore > now ? `next; enters in ${seconds(notBefore - now)} (spacing)` : 'next';
      return finish();
    };
    if (now < spacingEnds) return waitOn(null, spacingEnds);
    const others = obs.entries.filter((entry) => !ours.has(entry.name) && entry.at > now - plan.spacingMs && entry.at <= now);
    if (others.length > 0) {
      const latest = others.reduce((a, b) => (b.at > a.at ? b : a));
      return waitOn(
        `${latest.name} entered maintenance ${seconds(now - latest.at)} ago outside this plan; Pexip advises at least ${seconds(plan.spacingMs)} between nodes`,
        latest.at + plan.spacingMs,
      );
    }
    const capacity = capacityProblem(candidate.name, obs);
    if (capacity) return waitOn(capacity, null);
    candidate.state = 'entering';
    candidate.writeStartedAt = now;
    candidate.detail = 'writing maintenance_mode to the Management Node';
    plan.state = 'running';
    plan.waitingReason = null;
    plan.next = null;
    plan.updatedAt = now;
    actions.push({ type: 'enter', node: candidate.name, configurationId: candidate.configurationId, reason: maintenanceReason(plan) });
    events.push({ kind: 'entering', node: candidate.name, message: `plan ${plan.id} puts ${candidate.name} in maintenance` });
    return finish();
  }
  // Nothing queued: done once every node has drained.
  plan.next = null;
  if (plan.nodes.every((node) => node.state === 'drained')) {
    end(plan, 'done', now);
    plan.updatedAt = now;
    events.push({ kind: 'done', node: null, message: `plan ${plan.id} is done: every node is in maintenance with no calls left` });
  } else {
    plan.state = 'running';
    plan.waitingReason = null;
  }
  return finish();
}

/** What the writer reported for one `enter` action. */
export type WriteResult = { ok: true; at: number } | { ok: false; at: number; detail: string };

/**
 * Records the outcome of a write: accepted (the node entered; confirmation follows through
 * observations) or failed (the node is `failed` with the answer, and the plan stops).
 *
 * @example recordWrite(plan, 'px01', { ok: false, at: now, detail: 'HTTP 500: internal error' }).plan.state // 'failed'
 */
export function recordWrite(input: Plan, name: string, result: WriteResult): { plan: Plan; events: PlanEvent[] } {
  const plan = clone(input);
  const events: PlanEvent[] = [];
  const node = plan.nodes.find((n) => n.name === name);
  if (!node || node.state !== 'entering') return { plan, events };
  plan.updatedAt = result.at;
  if (result.ok) {
    node.writtenAt = result.at;
    node.enteredAt = result.at;
    node.detail = 'written; waiting for the next status sweep and probe to show maintenance';
    events.push({ kind: 'written', node: name, message: `the Management Node accepted maintenance_mode for ${name}` });
    return { plan, events };
  }
  node.state = 'failed';
  node.detail = `the Management Node did not take the write: ${result.detail}`;
  events.push({ kind: 'node_failed', node: name, message: `${name} failed: ${node.detail}` });
  if (isActive(plan)) {
    end(plan, 'failed', result.at);
    events.push({ kind: 'failed', node: name, message: `plan ${plan.id} stopped after a failed write; no further writes` });
  }
  return { plan, events };
}

/**
 * Cancels a plan: queued nodes are never entered; nodes already in maintenance stay so (and their
 * calls are still followed for display).
 */
export function cancelPlan(input: Plan, now: number, by: string): { plan: Plan; events: PlanEvent[] } {
  const plan = clone(input);
  if (!isActive(plan)) return { plan, events: [] };
  const dropped = plan.nodes.filter((node) => node.state === 'queued');
  for (const node of dropped) node.detail = 'cancelled before entering';
  end(plan, 'cancelled', now);
  plan.updatedAt = now;
  const names = dropped.map((node) => node.name).join(', ') || 'none';
  return { plan, events: [{ kind: 'cancelled', node: null, message: `plan ${plan.id} cancelled by ${by}; not entered: ${names}` }] };
}

/**
 * Prepares a plan loaded after a restart. A write that was started but not known to have finished
 * is taken as sent: the node waits for confirmation (and fails after the timeout) instead of being
 * written a second time.
 */
export function resumePlan(input: Plan, now: number): { plan: Plan; events: PlanEvent[] } {
  const plan = clone(input);
  const events: PlanEvent[] = [];
  for (const node of plan.nodes) {
    if (node.state !== 'entering' || node.writtenAt !== null) continue;
    const at = node.writeStartedAt ?? now;
    node.writtenAt = at;
    node.enteredAt = at;
    node.detail = 'drainwatch restarted during its write; not written again, waiting to see it in maintenance';
    events.push({ kind: 'written', node: node.name, message: `${node.name}: ${node.detail}` });
  }
  return { plan, events };
}
