// Envoy REST EDS read-back: the version_info each poller carries, kept per client (node.id + cluster) in the sync model.

import { formatBudget, wantFor } from '../../core/lb-sync.js';
import { sanitize } from '../../core/text.js';
import type { LoadBalancerSync, NodeReading, SyncStatus } from '../../core/lb-sync.js';
import type { Snapshot } from '../../core/snapshot.js';

/** Polls in a row that did not carry the version sent before, after which a client is `diverged`. */
export const STALE_POLLS = 3;

/** The sync-model id of one REST client. */
export function envoyRestTargetId(nodeId: string, cluster: string): string {
  return `envoy-rest:${nodeId === '' ? '-' : nodeId}/${cluster}`;
}

export type RestClientsOptions = {
  sync: LoadBalancerSync;
  /** The `refresh_delay` Envoy polls with; Envoy adds up to as much again of jitter. */
  refreshDelayMs: () => number;
  /** Versions whose per-node rendering is kept (to show what an old version held). Default 32. */
  maxVersions?: number;
};

/** One REST poll as the EDS route saw it. */
export type RestPoll = {
  nodeId: string;
  cluster: string;
  /** `version_info` of the request: what the client has applied ('' on its first poll). */
  applied: string;
  /** The version drainwatch answers with now (304 when equal to `applied`). */
  current: string;
  snapshot: Snapshot;
};

type ClientState = { lastSent: string | null; stale: number; said: string };

/*
 * How a REST client reports (xDS REST-JSON): every POST carries node.id, the cluster in
 * resource_names and the version_info it has applied. It never sends error_detail or a
 * response_nonce, so a response Envoy rejected shows up only as a version that does not
 * advance. Per client:
 *
 *   applied = current                                  -> in_sync
 *   applied = what was sent before (a newer one is out) -> converging (its next poll carries it)
 *   applied ≠ what was sent, 1..2 polls in a row        -> converging
 *   applied ≠ what was sent, 3 polls in a row           -> diverged ("did not advance")
 *   no poll for 3 × cadence (2 × refresh_delay)         -> unreachable (the model's staleness)
 */

/**
 * Keeps the applied EDS version of every REST client in the sync model, as dynamic targets
 * (bounded by the model's cap, the least recently heard first out).
 *
 * @example
 * const clients = new RestClients({ sync, refreshDelayMs: () => 1000 });
 * clients.polled({ nodeId: 'edge-1', cluster: 'pexip', applied: '', current: 'a1b2', snapshot });
 */
export class RestClients {
  private readonly options: RestClientsOptions;
  private readonly clients = new Map<string, ClientState>();
  /** version → per-node want text at that version (insertion order = age). */
  private readonly versions = new Map<string, ReadonlyMap<string, string | null>>();

  constructor(options: RestClientsOptions) {
    this.options = options;
  }

  /** Records one poll; cheap when nothing changed for this client. */
  polled(poll: RestPoll): void {
    const { sync } = this.options;
    const id = envoyRestTargetId(poll.nodeId, poll.cluster);
    const cadence = 2 * this.options.refreshDelayMs();
    if (!sync.has(id)) {
      sync.register({ id, kind: 'envoy', target: poll.nodeId === '' ? '(no node.id)' : sanitize(poll.nodeId, 120), backend: poll.cluster, budgetMs: STALE_POLLS * cadence, staleAfterMs: 3 * cadence, dynamic: true });
    }
    this.remember(poll.current, poll.snapshot);
    // Bounded like the model: a client the model dropped is forgotten here too.
    let client = this.clients.get(id);
    if (!client) {
      client = { lastSent: null, stale: 0, said: '' };
      this.clients.set(id, client);
      if (this.clients.size > 4 * 64) this.forgetDropped();
    }
    if (poll.applied === poll.current || poll.applied === client.lastSent || client.lastSent === null) client.stale = 0;
    else client.stale += 1;
    client.lastSent = poll.current;
    const status: SyncStatus = poll.applied === poll.current ? 'in_sync' : client.stale >= STALE_POLLS ? 'diverged' : 'converging';
    const said = `${poll.applied} ${poll.current} ${status} ${poll.snapshot.version}`;
    if (said === client.said && sync.get(id)?.status !== 'unreachable') {
      sync.seen(id);
      return;
    }
    client.said = said;
    sync.report(id, this.reading(poll, status, client.stale, cadence));
  }

  private reading(poll: RestPoll, status: SyncStatus, stale: number, cadence: number) {
    const held = this.versions.get(poll.applied);
    const nodes: NodeReading[] = poll.snapshot.nodes.map((verdict) => {
      const want = wantFor('envoy', verdict);
      const have = poll.applied === '' ? null : held ? (held.get(verdict.name) ?? null) : `version ${poll.applied.slice(0, 16)}`;
      if (status === 'in_sync' || have === want) return { name: verdict.name, want, have, status: 'in_sync' as const };
      const reason = status === 'diverged'
        ? `Envoy stayed at version ${poll.applied || '(none)'} for ${stale} polls after ${poll.current} was sent (a rejected REST response shows only this way)`
        : `Envoy has version ${poll.applied || '(none)'}, ${poll.current} is on its way (next poll, within ${formatBudget(cadence)})`;
      return { name: verdict.name, want, have, status, reason };
    });
    const error = poll.nodeId === ''
      ? { status: 'diverged' as const, reason: 'DiscoveryRequest without node.id: drainwatch cannot tell these Envoys apart (set node.id in the bootstrap)' }
      : null;
    return { nodes, error, readFailed: false };
  }

  private remember(version: string, snapshot: Snapshot): void {
    if (this.versions.has(version)) return;
    this.versions.set(version, new Map(snapshot.nodes.map((verdict) => [verdict.name, wantFor('envoy', verdict)])));
    const max = this.options.maxVersions ?? 32;
    for (const old of this.versions.keys()) {
      if (this.versions.size <= max) break;
      this.versions.delete(old);
    }
  }

  private forgetDropped(): void {
    for (const id of this.clients.keys()) if (!this.options.sync.has(id)) this.clients.delete(id);
  }
}
