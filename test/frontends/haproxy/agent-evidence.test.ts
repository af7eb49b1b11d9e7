// Agent evidence: last check per node and peer, in sync with the verdict, converging until the next check, unreachable when not asked.

import { describe, expect, it } from 'vitest';
import { LoadBalancerSync } from '../../../src/core/lb-sync.js';
import { AgentEvidence, agentTargetId } from '../../../src/frontends/haproxy/agent-evidence.js';
import { FakeSource, snapshotOf, verdict } from '../envoy/fixtures.js';

function rig(maxPeers?: number) {
  let now = 1_000_000;
  const sync = new LoadBalancerSync({ now: () => now });
  const source = new FakeSource(snapshotOf([verdict('px01', 'ready'), verdict('px02', 'draining', { reason: 'Upgrade' })]));
  const evidence = new AgentEvidence({ sync, source, clock: () => now, expectedIntervalMs: () => 2000, maxPeers });
  return { sync, source, evidence, advance: (ms: number) => (now += ms), target: (peer = '10.0.0.7') => sync.get(agentTargetId(peer))! };
}

describe('AgentEvidence', () => {
  it('shows a node in sync when its last answer is what the verdict says now', () => {
    const { evidence, target } = rig();
    evidence.record('px01', '10.0.0.7', 'up ready 100%\n');
    evidence.record('px02', '10.0.0.7', 'up drain #Upgrade\n');
    evidence.evaluate();
    expect(target()).toMatchObject({ kind: 'haproxy', target: '10.0.0.7', status: 'in_sync', nodes: [
      { name: 'px01', want: 'up ready 100%', have: 'up ready 100%', status: 'in_sync' },
      { name: 'px02', want: 'up drain #Upgrade', have: 'up drain #Upgrade', status: 'in_sync' },
    ] });
  });

  it('is converging after a verdict change until the next check carries it', () => {
    const { evidence, source, target } = rig();
    evidence.record('px01', '10.0.0.7', 'up ready 100%\n');
    source.set([verdict('px01', 'draining', { reason: 'Upgrade' })]);
    evidence.evaluate();
    expect(target().nodes[0]).toMatchObject({ status: 'converging', want: 'up drain #Upgrade', have: 'up ready 100%' });
    evidence.record('px01', '10.0.0.7', 'up drain #Upgrade\n');
    evidence.evaluate();
    expect(target().status).toBe('in_sync');
  });

  it('calls a node not asked about for 3 agent intervals unreachable', () => {
    const { evidence, target, advance } = rig();
    evidence.record('px01', '10.0.0.7', 'up ready 100%\n');
    advance(6000);
    evidence.evaluate();
    expect(target().status).toBe('in_sync');
    advance(1);
    evidence.evaluate();
    expect(target().nodes[0]).toMatchObject({ status: 'unreachable', reason: 'not asked by 10.0.0.7 for 6s (agent-inter 2s expected)' });
  });

  it('keeps one target per peer, bounded, dropping the peer heard from least recently', () => {
    const { evidence, sync, advance } = rig(2);
    for (const peer of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
      evidence.record('px01', peer, 'up ready 100%\n');
      evidence.evaluate();
      advance(10);
    }
    expect(sync.ids().sort()).toEqual([agentTargetId('10.0.0.2'), agentTargetId('10.0.0.3')]);
  });

  it('forgets nodes that left the inventory and removes its targets when closed', () => {
    const { evidence, source, sync, target } = rig();
    evidence.record('px01', '10.0.0.7', 'up ready 100%\n');
    evidence.record('px02', '10.0.0.7', 'up drain #Upgrade\n');
    source.set([verdict('px01', 'ready')]);
    evidence.evaluate();
    expect(target().nodes.map((node) => node.name)).toEqual(['px01']);
    evidence.close();
    expect(sync.ids()).toEqual([]);
  });
});
