// The pure rules of the load-balancer sync model (DESIGN §2b): statuses, the worst-of and budget rules, `want` per kind.

import type { NodeVerdict } from './snapshot.js';

/** Which load balancer a target belongs to (bounded: safe as a metric label). */
export type TargetKind = 'haproxy' | 'nginx' | 'envoy';

export const TARGET_KINDS: readonly TargetKind[] = ['haproxy', 'nginx', 'envoy'];

/**
 * How far a load balancer's state is from the verdicts:
 * - `in_sync`: what it holds matches what it was told;
 * - `converging`: a change is on its way, still within the target's budget;
 * - `diverged`: past the budget it still differs, or the target reported an error;
 * - `unreachable`: drainwatch cannot read the target.
 */
export type SyncStatus = 'in_sync' | 'converging' | 'diverged' | 'unreachable';

export const SYNC_STATUSES: readonly SyncStatus[] = ['in_sync', 'converging', 'diverged', 'unreachable'];

// Worst wins. A known difference (diverged) ranks above "cannot tell" (unreachable): it is
// certain that traffic goes where it should not, which is what an alert must lead with.
export const SEVERITY: Readonly<Record<SyncStatus, number>> = { in_sync: 0, converging: 1, unreachable: 2, diverged: 3 };

/**
 * The worst of some statuses (`in_sync` when there are none).
 *
 * @example worstStatus(['in_sync', 'converging', 'diverged']) // 'diverged'
 */
export function worstStatus(statuses: Iterable<SyncStatus | null | undefined>): SyncStatus {
  let worst: SyncStatus = 'in_sync';
  for (const status of statuses) if (status && SEVERITY[status] > SEVERITY[worst]) worst = status;
  return worst;
}

/** Default equality of `want` and `have`: the same text (a null `want` accepts anything). */
export function sameState(want: string | null, have: string | null): boolean {
  return want === null || want === have;
}

/**
 * The budget rule: a difference younger than the target's budget is `converging`, older `diverged`.
 *
 * @example budgetStatus(1000, 2500, 2000) // 'converging'
 * @example budgetStatus(1000, 3000, 2000) // 'diverged'
 */
export function budgetStatus(differentSince: number, now: number, budgetMs: number): 'converging' | 'diverged' {
  return now - differentSince < budgetMs ? 'converging' : 'diverged';
}

/** "2s", "1.5s", "250ms", "2m": for reasons. */
export function formatBudget(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 120_000) return `${Number((ms / 1000).toFixed(1))}s`;
  return `${Number((ms / 60_000).toFixed(1))}m`;
}

const percent = (weight: number) => (Number.isFinite(weight) ? Math.min(100, Math.max(1, Math.round(weight))) : 1);

/**
 * What one kind of load balancer should hold for a verdict, as the display text `want`
 * (mirrors the DESIGN §2 table; null = nothing expected, the load balancer keeps what it has).
 *
 *   verdict      haproxy      nginx        envoy
 *   ready W      "ready W%"   "weight=W"   "HEALTHY W"
 *   draining     "drain"      "down"       "DRAINING"
 *   maint        "maint"      "down"       "UNHEALTHY"
 *   down         "down"       "down"       "UNHEALTHY"
 *   unknown      null         null         "UNKNOWN 1"
 *
 * @example wantFor('haproxy', { state: 'ready', weight: 65 }) // 'ready 65%'
 * @example wantFor('envoy', { state: 'draining', weight: 100 }) // 'DRAINING'
 */
export function wantFor(kind: TargetKind, verdict: Pick<NodeVerdict, 'state' | 'weight'> | undefined): string | null {
  if (!verdict) return null;
  const { state, weight } = verdict;
  switch (kind) {
    case 'haproxy':
      if (state === 'ready') return `ready ${percent(weight)}%`;
      return state === 'draining' ? 'drain' : state === 'unknown' ? null : state;
    case 'nginx':
      if (state === 'ready') return `weight=${percent(weight)}`;
      return state === 'unknown' ? null : 'down';
    case 'envoy':
      if (state === 'ready') return `HEALTHY ${percent(weight)}`;
      if (state === 'draining') return 'DRAINING';
      return state === 'unknown' ? 'UNKNOWN 1' : 'UNHEALTHY';
  }
}

