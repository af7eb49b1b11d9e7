// Closed loop for gRPC xDS clients: each stream is a load-balancer target whose `have` is the EDS version it ACKed.

import { LRUCache } from 'lru-cache';
import { wantFor } from '../../../core/lb-sync.js';
import { TYPE_URLS } from './protos.js';
import type { LoadBalancerSync } from '../../../core/lb-sync.js';
import type { SnapshotSource } from '../../../core/snapshot.js';
import type { PreparedResponse } from './resources.js';
import type { XdsObserver } from './server.js';
import type { RequestOutcome, XdsStream } from './stream.js';

export type XdsSyncOptions = {
  sync: Pick<LoadBalancerSync, 'register' | 'report' | 'fail' | 'unregister' | 'has'>;
  source: SnapshotSource;
  /** A push not ACKed within this is `diverged` (default 2 s). */
  budgetMs?: number;
  /** A closed client stays listed (unreachable) this long (default 10 min). */
  keepClosedMs?: number;
};

/**
 * The registry id of one stream's client: by node id and peer (one Envoy may hold streams to several replicas).
 *
 * @example xdsTargetId(stream) // 'envoy-grpc:envoy-edge-1@127.0.0.1:51234'
 */
export function xdsTargetId(stream: XdsStream): string {
  return `envoy-grpc:${stream.node?.id || 'anonymous'}@${stream.peer}`;
}

/**
 * An observer that turns the server's events into the sync model (DESIGN §2b):
 * `in_sync` once the client ACKs the current version, `converging` while a push awaits its ACK
 * (the model turns it `diverged` past the budget on `tick`), `diverged` on NACK with the client's
 * `error_detail` as the reason, `unreachable` once the stream closes; removed 10 minutes later.
 *
 * @example
 * const loop = createXdsSync({ sync, source });
 * new XdsServer({ ...options, observer: loop.observer });
 */
export function createXdsSync(options: XdsSyncOptions): { observer: XdsObserver; close(): void } {
  const { sync, source } = options;
  const budgetMs = options.budgetMs ?? 2000;
  const keepClosedMs = options.keepClosedMs ?? 600_000;
  // What each recent EDS version told clients, per node: the `have` of a client that ACKed it.
  const versions = new LRUCache<string, ReadonlyMap<string, string>>({ max: 64 });
  const removals = new Map<string, NodeJS.Timeout>();

  const ensure = (stream: XdsStream): string | null => {
    if (!stream.node) return null;
    const id = xdsTargetId(stream);
    const pending = removals.get(id);
    if (pending) {
      clearTimeout(pending);
      removals.delete(id);
    }
    if (!sync.has(id)) {
      const cluster = stream.subscriptions.get(TYPE_URLS.endpoint)?.names.join(',') || undefined;
      sync.register({ id, kind: 'envoy', target: `${stream.node.id || 'anonymous'} (${stream.peer}, gRPC)`, ...(cluster ? { backend: cluster } : {}), budgetMs, dynamic: true });
    }
    return id;
  };

  const report = (stream: XdsStream): void => {
    const id = ensure(stream);
    const subscription = stream.subscriptions.get(TYPE_URLS.endpoint);
    if (!id || !subscription) return;
    const held = subscription.acked ? versions.get(subscription.acked.version) : undefined;
    const nodes = source.published().nodes.map((verdict) => ({ name: verdict.name, want: wantFor('envoy', verdict), have: held?.get(verdict.name) ?? null }));
    if (subscription.nack) {
      sync.report(id, { nodes, error: { status: 'diverged', reason: `NACK of ${subscription.nack.version}: ${subscription.nack.message}` } });
    } else {
      sync.report(id, { nodes });
    }
  };

  const observer: XdsObserver = {
    request(stream: XdsStream, outcome: RequestOutcome) {
      if (outcome.kind === 'invalid' || outcome.kind === 'stale' || outcome.typeUrl !== TYPE_URLS.endpoint) return;
      report(stream);
    },
    pushed(stream: XdsStream, response: PreparedResponse) {
      if (response.typeUrl !== TYPE_URLS.endpoint) return;
      versions.set(response.version, response.endpointStates);
      report(stream);
    },
    closed(stream: XdsStream, reason: string) {
      if (!stream.node) return;
      const id = xdsTargetId(stream);
      if (!sync.has(id)) return;
      sync.fail(id, 'unreachable', `stream closed: ${reason}`);
      const timer = setTimeout(() => {
        removals.delete(id);
        sync.unregister(id);
      }, keepClosedMs);
      timer.unref();
      removals.set(id, timer);
    },
  };

  return {
    observer,
    close() {
      for (const timer of removals.values()) clearTimeout(timer);
      removals.clear();
    },
  };
}
