// What the state core holds per node, and the per-probe shortcuts that keep an unchanged answer cheap.

import { initialTracker } from './verdict.js';
import { blankVerdict } from './verdict-publish.js';
import type { NodeVerdict } from './snapshot.js';
import type { HealthTracker, ManagementObservation, NodeSpec, ProbeObservation, VerdictCore } from './verdict.js';

type OwnProbe = { -readonly [K in keyof ProbeObservation]: ProbeObservation[K] };

export type NodeRecord = {
  spec: NodeSpec;
  tracker: HealthTracker;
  management: ManagementObservation | null;
  candidate: VerdictCore | null;
  verdict: NodeVerdict;
  drainedSince: number | null;
  /** Newest observation time, ahead of `verdict.observedAt` until a snapshot is read (no copy per probe). */
  observedAt: number | null;
  /**
   * The core's own copy of the last answered probe, rewritten in place by each one that follows
   * (holding the prober's object for a whole interval would age it into the old generation).
   */
  ownLast: OwnProbe | null;
  /** The last derive used the management load as it is (no weight ramp moving with time). */
  steadyWeight: boolean;
};

/** A node with no observation yet. */
export function newRecord(spec: NodeSpec, now: number): NodeRecord {
  return {
    spec,
    tracker: initialTracker(),
    management: null,
    candidate: null,
    drainedSince: null,
    observedAt: null,
    ownLast: null,
    steadyWeight: false,
    verdict: blankVerdict(spec, now),
  };
}

/**
 * True when deriving this node again after one more answered probe could change nothing visible:
 * it is ready, its published verdict is its ready candidate (not held by the guard, no override)
 * and its weight is not ramping. Staleness only ever clears with a fresh answer. The caller also
 * checks that no override or pending re-derive touches the node.
 */
export function answerChangesNothing(record: NodeRecord): boolean {
  const { candidate, verdict } = record;
  return (
    candidate !== null && candidate.state === 'ready' && verdict.state === 'ready' && !verdict.heldByGuard &&
    verdict.reason === candidate.reason && verdict.override === null && record.steadyWeight
  );
}

/** Time of the newest observation of the node, probe or Management Node (null before either). */
export function newestObservationAt(record: NodeRecord): number | null {
  return Math.max(record.tracker.last?.at ?? 0, record.management?.at ?? 0) || null;
}

/**
 * The tracker's last probe: the record's own object, refilled from `probe` (see NodeRecord.ownLast).
 * A fresh copy whenever the tracker holds another object (after a probe that changed its health).
 */
export function keepLastProbe(record: NodeRecord, probe: ProbeObservation): ProbeObservation {
  const own = record.ownLast;
  if (!own || record.tracker.last !== own) return (record.ownLast = { ...probe });
  own.outcome = probe.outcome;
  own.reason = probe.reason;
  own.detail = probe.detail;
  own.status = probe.status;
  own.latencyMs = probe.latencyMs;
  own.at = probe.at;
  return own;
}
