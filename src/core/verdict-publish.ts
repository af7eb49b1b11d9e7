// The published verdict's shape: which fields make a change visible, the blank verdict, the probe summary.

import type { NodeVerdict } from './snapshot.js';
import type { NodeSpec, Override, ProbeObservation, VerdictCore } from './verdict.js';

/**
 * The verdict fields that make a change visible: when all of them equal the previous verdict's,
 * no new version is published. Left out on purpose: `since`, `version` (bookkeeping derived from
 * this comparison), `probe` and `observedAt` (freshness: refreshed without a new version).
 */
export const VISIBLE_FIELDS = [
  'address', 'port', 'statusUrl', 'source', 'state', 'weight', 'load', 'maintenance', 'degraded',
  'reason', 'override', 'calls', 'drainedSince', 'heldByGuard',
] as const satisfies readonly (keyof NodeVerdict)[];

export type VisibleFields = Pick<NodeVerdict, (typeof VISIBLE_FIELDS)[number]>;

/**
 * True when a published verdict already shows these inputs: the VISIBLE_FIELDS test written out
 * field by field, because it runs for every probe and must not build an object to compare.
 * (A test checks that it agrees with VISIBLE_FIELDS.)
 *
 * @example sameVisible(previous, spec, core, null, null, null, false) // true when only freshness moved
 */
export function sameVisible(
  previous: NodeVerdict,
  spec: NodeSpec,
  core: VerdictCore,
  override: Override | null,
  calls: number | null,
  drainedSince: number | null,
  heldByGuard: boolean,
): boolean {
  return (
    previous.version !== 0 &&
    previous.address === spec.address && previous.port === spec.port && previous.statusUrl === spec.statusUrl &&
    previous.source === spec.source && previous.state === core.state && previous.weight === core.weight &&
    previous.load === core.load && previous.maintenance === core.maintenance && previous.degraded === core.degraded &&
    previous.reason === core.reason && previous.override === override && previous.calls === calls &&
    previous.drainedSince === drainedSince && previous.heldByGuard === heldByGuard
  );
}

/** The verdict of a node with no observation yet (version 0: never published as a change). */
export function blankVerdict(spec: NodeSpec, now: number): NodeVerdict {
  return Object.freeze({
    name: spec.name, address: spec.address, port: spec.port, statusUrl: spec.statusUrl, source: spec.source,
    state: 'unknown', weight: 100, load: null, maintenance: false, degraded: false, reason: 'no probe result yet',
    override: null, calls: null, drainedSince: null, heldByGuard: false, probe: null, since: now, observedAt: null, version: 0,
  });
}

/** The frozen probe summary a verdict carries (null before the first result). */
export function probeView(last: ProbeObservation | null): NodeVerdict['probe'] {
  return last && Object.freeze({ reason: last.reason, status: last.status, latencyMs: last.latencyMs, at: last.at });
}
