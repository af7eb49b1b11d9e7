// The verdict model of DESIGN §2: node states, observations, and the pure rules that turn them into a verdict.

import { weightFromLoad } from './weight.js';
import type { WeightPolicy } from './weight.js';

/** What the load balancers are told about one node. */
export type NodeState = 'ready' | 'draining' | 'maint' | 'down' | 'unknown';

/** Stable probe outcome reasons (bounded: safe as metric labels). */
export type ProbeReason =
  | 'ok'
  | 'maintenance'
  | 'timeout'
  | 'refused'
  | 'reset'
  | 'tls'
  | 'dns'
  | 'unreachable'
  | 'http_404'
  | 'http_3xx'
  | 'http_4xx'
  | 'http_5xx'
  | 'error';

/** One node the service watches. */
export type NodeSpec = {
  name: string;
  address: string;
  port: number;
  statusUrl: string;
  source: 'static' | 'discovered';
};

/** The result of one status probe. */
export type ProbeObservation = {
  outcome: 'available' | 'maintenance' | 'failure';
  reason: ProbeReason;
  /** Human detail: the node's maintenance message, or the error text. */
  detail: string;
  status: number | null;
  latencyMs: number;
  at: number;
};

/** What the Management Node last said about one node. */
export type ManagementObservation = {
  maintenance: boolean;
  reason: string;
  /** media_load in percent, or null when unknown. */
  load: number | null;
  /** Calls still on the node (media tokens / signalling), or null when unknown. */
  calls: number | null;
  at: number;
  /** True when the last sweep failed and this record is kept from an earlier one. */
  stale: boolean;
};

/** An operator override, applied before anything probing says. */
export type Override = {
  state: 'drain' | 'maint' | 'ready';
  reason: string;
  /** Who set it (from the request), for the audit log. */
  by: string;
  setAt: number;
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
};

/** The per-node health state machine's memory (rise/fall hysteresis). */
export type HealthTracker = {
  /** null until the first probe result arrives. */
  health: 'ready' | 'draining' | 'down' | null;
  successes: number;
  failures: number;
  last: ProbeObservation | null;
  /** The node's own message from its last maintenance answer (kept while recovering). */
  maintenanceDetail: string;
};

export const initialTracker = (): HealthTracker => ({ health: null, successes: 0, failures: 0, last: null, maintenanceDetail: '' });

export type Hysteresis = { rise: number; fall: number };

/**
 * Applies one probe result. Maintenance counts at once (the node said so), errors need
 * `fall` in a row, leaving draining/down needs `rise` successes, and the first result decides.
 *
 * @example applyProbe(initialTracker(), observation, { rise: 2, fall: 2 }).health // 'ready'
 */
export function applyProbe(tracker: HealthTracker, probe: ProbeObservation, rules: Hysteresis): HealthTracker {
  const first = tracker.health === null;
  switch (probe.outcome) {
    case 'maintenance':
      return { health: 'draining', successes: 0, failures: 0, last: probe, maintenanceDetail: probe.detail };
    case 'available': {
      const successes = tracker.successes + 1;
      const health = first || tracker.health === 'ready' || successes >= rules.rise ? 'ready' : tracker.health;
      return { ...tracker, health, successes, failures: 0, last: probe };
    }
    case 'failure': {
      const failures = tracker.failures + 1;
      const health = first || failures >= rules.fall ? 'down' : tracker.health;
      return { ...tracker, health, successes: 0, failures, last: probe };
    }
  }
}

/** The verdict fields derived from observations (everything but identity and bookkeeping). */
export type VerdictCore = {
  state: NodeState;
  weight: number;
  load: number | null;
  maintenance: boolean;
  degraded: boolean;
  reason: string;
};

export type DeriveInput = {
  tracker: HealthTracker;
  management: ManagementObservation | null;
  override: Override | null;
  now: number;
  maxAgeMs: number;
  rules: Hysteresis;
  policy: WeightPolicy & { degraded_load: number };
  /** Load to weight by (may be smoothed by the caller); defaults to the management load. */
  weightLoad?: number | null;
};

/**
 * Derives one node's verdict from what was observed. Precedence: override, then
 * staleness, then down, then maintenance from either source, then ready with a weight.
 */
export function deriveVerdict(input: DeriveInput): VerdictCore {
  const { tracker, management, override, now, policy } = input;
  const load = management?.load ?? null;
  const maintenanceSignal = tracker.health === 'draining' || management?.maintenance === true;
  const weight = weightFromLoad(input.weightLoad === undefined ? load : input.weightLoad, policy);
  const degraded = load !== null && load >= policy.degraded_load;

  if (override && (override.expiresAt === null || override.expiresAt > now)) {
    const reason = `operator override: ${override.reason || override.state}`;
    if (override.state === 'ready') return { state: 'ready', weight, load, maintenance: maintenanceSignal, degraded, reason };
    return { state: override.state === 'drain' ? 'draining' : 'maint', weight, load, maintenance: maintenanceSignal, degraded: false, reason };
  }

  const last = tracker.last;
  if (tracker.health === null || last === null) {
    return { state: 'unknown', weight, load, maintenance: maintenanceSignal, degraded: false, reason: 'no probe result yet' };
  }
  const ageMs = now - last.at;
  if (ageMs > input.maxAgeMs) {
    return {
      state: 'unknown', weight, load, maintenance: maintenanceSignal, degraded: false,
      reason: `last probe result is ${(ageMs / 1000).toFixed(1)}s old`,
    };
  }
  if (tracker.health === 'down') {
    return { state: 'down', weight, load, maintenance: maintenanceSignal, degraded: false, reason: failureReason(tracker, input.rules) };
  }
  if (maintenanceSignal) {
    return { state: 'draining', weight, load, maintenance: true, degraded: false, reason: maintenanceReason(tracker, management, input.rules) };
  }
  return { state: 'ready', weight, load, maintenance: false, degraded, reason: load === null ? 'available' : `available, media load ${load}%` };
}

function failureReason(tracker: HealthTracker, rules: Hysteresis): string {
  const last = tracker.last;
  if (last?.outcome === 'available') return `recovering: ${tracker.successes} of ${rules.rise} successes`;
  if (!last || last.outcome !== 'failure') return 'failing';
  const count = tracker.failures === 1 ? '' : ` (${tracker.failures} in a row)`;
  return `${last.reason}${count}${last.detail ? `: ${last.detail}` : ''}`;
}

function maintenanceReason(tracker: HealthTracker, management: ManagementObservation | null, rules: Hysteresis): string {
  const fromNode = tracker.health === 'draining' ? tracker.maintenanceDetail : '';
  const base = fromNode || (management?.maintenance && management.reason) || 'maintenance mode';
  if (tracker.health === 'draining' && tracker.last?.outcome === 'available') {
    return `${base} (leaving: ${tracker.successes} of ${rules.rise} successes)`;
  }
  return base;
}
