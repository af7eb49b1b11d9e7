// Envoy REST read-back: applied versions per client, converging, diverged when a version does not advance, unreachable when polls stop.

import { describe, expect, it } from 'vitest';
import { LoadBalancerSync } from '../../../src/core/lb-sync.js';
import { RestClients, envoyRestTargetId } from '../../../src/frontends/envoy/rest-clients.js';
import { snapshotOf, verdict } from './fixtures.js';

function rig() {
  let now = 1_000_000;
  const sync = new LoadBalancerSync({ now: () => now });
  const clients = new RestClients({ sync, refreshDelayMs: () => 1000 });
  const ready = snapshotOf([verdict('px01', 'ready'), verdict('px02', 'ready')], 1);
  const drained = snapshotOf([verdict('px01', 'draining'), verdict('px02', 'ready')], 2);
  const id = envoyRestTargetId('edge-1', 'pexip');
  const poll = (applied: string, current: string, snapshot = current === 'v2' ? drained : ready, nodeId = 'edge-1') =>
    clients.polled({ nodeId, cluster: 'pexip', applied, current, snapshot });
  return { sync, clients, poll, id, advance: (ms: number) => (now += ms), target: () => sync.get(id)! };
}

describe('RestClients', () => {
  it('shows a client in sync once it carries the current version', () => {
    const { poll, target } = rig();
    poll('', 'v1');
    expect(target()).toMatchObject({ kind: 'envoy', target: 'edge-1', backend: 'pexip', status: 'converging' });
    poll('v1', 'v1');
    expect(target()).toMatchObject({ status: 'in_sync', nodes: [{ name: 'px01', want: 'HEALTHY 100', have: 'HEALTHY 100' }, { name: 'px02', status: 'in_sync' }] });
  });

  it('is converging after a new version is sent and in sync when the next poll carries it', () => {
    const { poll, target, sync } = rig();
    poll('', 'v1');
    poll('v1', 'v1');
    poll('v1', 'v2');
    expect(target().status).toBe('converging');
    expect(target().nodes[0]).toMatchObject({ want: 'DRAINING', have: 'HEALTHY 100', status: 'converging' });
    expect(sync.applied('px02')[target().id]).toBe('in_sync');
    poll('v2', 'v2');
    expect(target().status).toBe('in_sync');
  });

  it('calls a client that stops advancing its version diverged after its next poll and 2 more', () => {
    const { poll, target } = rig();
    poll('', 'v1');
    poll('v1', 'v1');
    poll('v1', 'v2');
    poll('v1', 'v2');
    poll('v1', 'v2');
    expect(target().status).toBe('converging');
    poll('v1', 'v2');
    expect(target().status).toBe('diverged');
    expect(target().nodes[0]!.reason).toBe('Envoy stayed at version v1 for 3 polls after v2 was sent (a rejected REST response shows only this way)');
  });

  it('calls a client that stops polling unreachable after 3 times its cadence', () => {
    const { poll, target, sync, advance } = rig();
    poll('', 'v1');
    poll('v1', 'v1');
    advance(6000);
    sync.tick();
    expect(target().status).toBe('in_sync');
    advance(1);
    sync.tick();
    expect(target().status).toBe('unreachable');
    poll('v1', 'v1');
    expect(target().status).toBe('in_sync');
  });

  it('gives a request without node.id a target of its own with a clear reason', () => {
    const { poll, sync } = rig();
    poll('v1', 'v1', undefined, '');
    expect(sync.get(envoyRestTargetId('', 'pexip'))).toMatchObject({ target: '(no node.id)', status: 'diverged', reason: expect.stringMatching(/without node.id/) });
  });

  it('keeps the number of clients bounded', () => {
    const sync = new LoadBalancerSync({ maxDynamic: 3 });
    const clients = new RestClients({ sync, refreshDelayMs: () => 1000 });
    const snapshot = snapshotOf([verdict('px01', 'ready')]);
    for (let i = 0; i < 10; i += 1) clients.polled({ nodeId: `edge-${i}`, cluster: 'pexip', applied: 'v1', current: 'v1', snapshot });
    expect(sync.ids()).toEqual(['envoy-rest:edge-7/pexip', 'envoy-rest:edge-8/pexip', 'envoy-rest:edge-9/pexip']);
  });
});
