// The JSON shape of a verdict (DESIGN §6), shared by the API, the dashboard and the CLI.

import { verdictAgeMs } from '../../core/snapshot.js';
import type { NodeVerdict } from '../../core/snapshot.js';
import type { SyncStatus } from '../../core/lb-sync.js';

export type NodeJson = {
  name: string;
  address: string;
  port: number;
  state: NodeVerdict['state'];
  weight: number;
  load: number | null;
  maintenance: boolean;
  degraded: boolean;
  reason: string;
  override: { state: string; reason: string; by: string; set_at: string; expires_at: string | null } | null;
  calls: number | null;
  drained_since: string | null;
  held_by_guard: boolean;
  age_ms: number;
  since: string;
  version: number;
  source: NodeVerdict['source'];
  status_url: string;
  probe: { reason: string; status: number | null; latency_ms: number; at: string } | null;
  /** Per load-balancer target id, whether it holds this node as told (DESIGN §2b); present when the caller passes it. */
  applied?: Record<string, SyncStatus>;
};

const iso = (ms: number) => new Date(ms).toISOString();

/** Converts a verdict to its API JSON (snake_case, ISO timestamps, age at `now`), with `applied` when given. */
export function nodeToJson(verdict: NodeVerdict, now: number, applied?: Record<string, SyncStatus>): NodeJson {
  const { override, probe } = verdict;
  return {
    name: verdict.name,
    address: verdict.address,
    port: verdict.port,
    state: verdict.state,
    weight: verdict.weight,
    load: verdict.load,
    maintenance: verdict.maintenance,
    degraded: verdict.degraded,
    reason: verdict.reason,
    override: override && {
      state: override.state,
      reason: override.reason,
      by: override.by,
      set_at: iso(override.setAt),
      expires_at: override.expiresAt === null ? null : iso(override.expiresAt),
    },
    calls: verdict.calls,
    drained_since: verdict.drainedSince === null ? null : iso(verdict.drainedSince),
    held_by_guard: verdict.heldByGuard,
    age_ms: verdictAgeMs(verdict, now),
    since: iso(verdict.since),
    version: verdict.version,
    source: verdict.source,
    status_url: verdict.statusUrl,
    probe: probe && { reason: probe.reason, status: probe.status, latency_ms: probe.latencyMs, at: iso(probe.at) },
    ...(applied === undefined ? {} : { applied }),
  };
}
