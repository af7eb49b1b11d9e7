// HAProxy agent evidence without a socket: when each node was last asked, by which peer, and what was answered.

import { formatBudget } from '../../core/lb-sync.js';
import { formatAgentReply } from './reply.js';
import type { LoadBalancerSync, NodeReading } from '../../core/lb-sync.js';
import type { SnapshotSource } from '../../core/snapshot.js';

/** The sync-model id of the HAProxy that asks from one peer address. */
export function agentTargetId(peer: string): string {
  return `haproxy-agent:${peer}`;
}

export type AgentEvidenceOptions = {
  sync: LoadBalancerSync;
  source: SnapshotSource;
  clock: () => number;
  /** The agent-inter HAProxy is configured with (how often each server should be asked). */
  expectedIntervalMs: () => number;
  /** Peers (HAProxy addresses) kept at once; the one heard from least recently goes first. Default 16. */
  maxPeers?: number;
  /** How often the evidence is turned into statuses. Default 1 s. */
  evaluateEveryMs?: number;
};

type Check = { at: number; reply: string };

const shown = (reply: string) => reply.trim() || '(no change)';

/**
 * Records every agent answer (cheap: one map write per check) and, every second, reports per
 * peer and node to the sync model: `in_sync` when the last answer is what the verdict says
 * now, `converging` while the next check is due, `unreachable` when that peer has not asked
 * about the node for 3 × the expected agent interval.
 *
 * @example
 * const evidence = new AgentEvidence({ sync, source: core, clock: Date.now, expectedIntervalMs: () => 2000 });
 * evidence.start();
 * evidence.record('px01', '10.0.0.7', 'up drain #maintenance\n');
 */
export class AgentEvidence {
  private readonly options: AgentEvidenceOptions;
  private readonly peers = new Map<string, Map<string, Check>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(options: AgentEvidenceOptions) {
    this.options = options;
  }

  /** One answered check (the agent server's hot path: no allocation for a node already seen). */
  record(node: string, peer: string, reply: string): void {
    let checks = this.peers.get(peer);
    if (!checks) {
      checks = new Map();
      this.peers.set(peer, checks);
      this.evictPeers();
    }
    const check = checks.get(node);
    const at = this.options.clock();
    if (check) {
      check.at = at;
      check.reply = reply;
    } else {
      checks.set(node, { at, reply });
    }
  }

  /** Evaluates every second until closed. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.evaluate(), this.options.evaluateEveryMs ?? 1000);
    this.timer.unref?.();
  }

  /** Turns the evidence into statuses now. */
  evaluate(): void {
    const { sync, source, clock } = this.options;
    const snapshot = source.published();
    const now = clock();
    const expected = this.options.expectedIntervalMs();
    const limit = 3 * expected;
    for (const [peer, checks] of this.peers) {
      const id = agentTargetId(peer);
      if (!sync.has(id)) sync.register({ id, kind: 'haproxy', target: peer, budgetMs: limit, dynamic: true });
      const nodes: NodeReading[] = [];
      for (const [name, check] of checks) {
        const verdict = snapshot.get(name);
        if (!verdict) {
          checks.delete(name);
          continue;
        }
        const want = shown(formatAgentReply(verdict));
        const have = shown(check.reply);
        const age = now - check.at;
        if (age > limit) {
          nodes.push({ name, want, have, status: 'unreachable', reason: `not asked by ${peer} for ${formatBudget(age)} (agent-inter ${formatBudget(expected)} expected)` });
        } else if (want === have) {
          nodes.push({ name, want, have, status: 'in_sync' });
        } else {
          nodes.push({ name, want, have, status: 'converging', reason: `HAProxy gets "${want}" at its next check (due within ${formatBudget(expected)})` });
        }
      }
      sync.report(id, { nodes });
    }
  }

  /** Stops evaluating and removes every peer's target. Idempotent. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const peer of this.peers.keys()) this.options.sync.unregister(agentTargetId(peer));
    this.peers.clear();
  }

  private evictPeers(): void {
    const max = this.options.maxPeers ?? 16;
    if (this.peers.size <= max) return;
    let oldest: string | null = null;
    let oldestAt = Number.POSITIVE_INFINITY;
    for (const [peer, checks] of this.peers) {
      let latest = Number.NEGATIVE_INFINITY;
      for (const check of checks.values()) latest = Math.max(latest, check.at);
      if (checks.size > 0 && latest < oldestAt) {
        oldestAt = latest;
        oldest = peer;
      }
    }
    if (oldest === null) return;
    this.peers.delete(oldest);
    this.options.sync.unregister(agentTargetId(oldest));
  }
}
