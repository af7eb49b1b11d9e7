// The load-balancer sync model: want per kind, the budget and worst-of rules, and the target registry.

import { describe, expect, it } from 'vitest';
import { LoadBalancerSync, budgetStatus, wantFor, worstStatus } from '../../src/core/lb-sync.js';
import type { SyncEvent, SyncStatus, TargetKind } from '../../src/core/lb-sync.js';
import type { NodeState } from '../../src/core/verdict.js';

function harness(options: { maxDynamic?: number } = {}) {
  let now = 1_000_000;
  const sync = new LoadBalancerSync({ now: () => now, maxDynamic: options.maxDynamic });
  const changes: SyncEvent[] = [];
  const statusChanges: SyncEvent[] = [];
  sync.onChange((event) => changes.push(event));
  sync.onStatusChange((event) => statusChanges.push(event));
  return { sync, changes, statusChanges, advance: (ms: number) => (now += ms), now: () => now };
}

const hap = { id: 'haproxy:/s:b', kind: 'haproxy' as const, target: '/s', backend: 'b', budgetMs: 4000 };

describe('wantFor', () => {
  const rows: Array<[TargetKind, NodeState, number, string | null]> = [
    ['haproxy', 'ready', 65, 'ready 65%'],
    ['haproxy', 'ready', 0, 'ready 1%'],
    ['haproxy', 'draining', 65, 'drain'],
    ['haproxy', 'maint', 65, 'maint'],
    ['haproxy', 'down', 65, 'down'],
    ['haproxy', 'unknown', 65, null],
    ['nginx', 'ready', 40, 'weight=40'],
    ['nginx', 'draining', 40, 'down'],
    ['nginx', 'maint', 40, 'down'],
    ['nginx', 'down', 40, 'down'],
    ['nginx', 'unknown', 40, null],
    ['envoy', 'ready', 100, 'HEALTHY 100'],
    ['envoy', 'draining', 100, 'DRAINING'],
    ['envoy', 'maint', 100, 'UNHEALTHY'],
    ['envoy', 'down', 100, 'UNHEALTHY'],
    ['envoy', 'unknown', 100, 'UNKNOWN 1'],
  ];
  it.each(rows)('asks %s for %s (weight %d) as %j', (kind, state, weight, want) => {
    expect(wantFor(kind, { state, weight })).toBe(want);
  });

  it('expects nothing for a node the snapshot does not have', () => {
    expect(wantFor('haproxy', undefined)).toBeNull();
  });
});

describe('budgetStatus and worstStatus', () => {
  it.each([
    [0, 1999, 2000, 'converging'],
    [0, 2000, 2000, 'diverged'],
    [500, 600, 0, 'diverged'],
  ] as const)('a difference seen at %d is, at %d with a %d ms budget, %s', (since, now, budget, status) => {
    expect(budgetStatus(since, now, budget)).toBe(status);
  });

  it.each([
    [[], 'in_sync'],
    [['in_sync', 'converging'], 'converging'],
    [['converging', 'unreachable'], 'unreachable'],
    [['unreachable', 'diverged', 'in_sync'], 'diverged'],
    [[null, undefined, 'converging'], 'converging'],
  ] as Array<[Array<SyncStatus | null | undefined>, SyncStatus]>)('the worst of %j is %s', (statuses, worst) => {
    expect(worstStatus(statuses)).toBe(worst);
  });
});

describe('LoadBalancerSync', () => {
  it('shows a new target as converging until its first read-back', () => {
    const { sync, statusChanges } = harness();
    sync.register(hap);
    expect(sync.get(hap.id)).toMatchObject({ status: 'converging', reason: 'not read back yet', nodes: [], readAt: null });
    expect(statusChanges).toHaveLength(1);
    expect(statusChanges[0]!.previous).toBeNull();
  });

  it('is in sync when every node holds what it should', () => {
    const { sync } = harness();
    sync.register(hap);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'drain' }, { name: 'px02', want: 'ready 50%', have: 'ready 50%' }] });
    expect(sync.get(hap.id)).toMatchObject({ status: 'in_sync', reason: '2 nodes in sync' });
    expect(sync.applied('px01')).toEqual({ [hap.id]: 'in_sync' });
  });

  it('calls a difference converging within the budget and diverged after it, on the next read', () => {
    const { sync, advance } = harness();
    sync.register(hap);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'ready 100%' }] });
    expect(sync.get(hap.id)!.nodes[0]).toMatchObject({ status: 'converging', want: 'drain', have: 'ready 100%' });
    advance(3999);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'ready 100%' }] });
    expect(sync.get(hap.id)!.status).toBe('converging');
    advance(1);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'ready 100%' }] });
    const target = sync.get(hap.id)!;
    expect(target.status).toBe('diverged');
    expect(target.reason).toContain('px01: expected drain, has ready 100%');
    expect(target.since).toBe(1_004_000);
  });

  it('calls a change made behind its back diverged at once, without waiting for the budget', () => {
    const { sync } = harness();
    sync.register(hap);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'drain' }] });
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'maint' }] });
    expect(sync.get(hap.id)!.nodes[0]).toMatchObject({ status: 'diverged', reason: "changed behind drainwatch's back: expected drain, has maint" });
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'drain' }] });
    expect(sync.applied('px01')[hap.id]).toBe('in_sync');
  });

  it('lets tick turn a difference past its budget diverged without a new read', () => {
    const { sync, advance } = harness();
    sync.register(hap);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'ready 100%' }] });
    advance(4000);
    sync.tick();
    expect(sync.applied('px01')[hap.id]).toBe('diverged');
  });

  it('restarts the budget when the verdict asks for something new', () => {
    const { sync, advance } = harness();
    sync.register(hap);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'ready 100%' }] });
    advance(3000);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'maint', have: 'ready 100%' }] });
    advance(3000);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'maint', have: 'ready 100%' }] });
    expect(sync.applied('px01')[hap.id]).toBe('converging');
  });

  it('keeps since per node and per target until the status changes', () => {
    const { sync, advance } = harness();
    sync.register(hap);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'drain' }] });
    advance(1000);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'drain' }] });
    expect(sync.get(hap.id)!.nodes[0]!.since).toBe(1_000_000);
    expect(sync.get(hap.id)!.since).toBe(1_000_000);
    advance(1000);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'maint', status: 'diverged', reason: 'admin state set by hand' }] });
    expect(sync.get(hap.id)!.nodes[0]).toMatchObject({ since: 1_002_000, reason: 'admin state set by hand' });
    expect(sync.get(hap.id)!.since).toBe(1_002_000);
  });

  it('takes a front-end decided status and an explicit match as given', () => {
    const { sync } = harness();
    sync.register(hap);
    sync.report(hap.id, {
      nodes: [
        { name: 'px01', want: 'ready 33%', have: 'ready 34%', matches: true },
        { name: 'px02', want: 'drain', have: 'ready 100%', status: 'diverged', reason: 'server has no agent check' },
      ],
    });
    expect(sync.applied('px01')[hap.id]).toBe('in_sync');
    expect(sync.get(hap.id)).toMatchObject({ status: 'diverged', reason: 'px02: server has no agent check' });
  });

  it('lets a target error outrank its nodes and marks every node unreachable when it cannot be read', () => {
    const { sync } = harness();
    sync.register(hap);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'drain' }] });
    sync.fail(hap.id, 'unreachable', 'connect ECONNREFUSED /s');
    const target = sync.get(hap.id)!;
    expect(target).toMatchObject({ status: 'unreachable', reason: 'connect ECONNREFUSED /s', readFailures: 1 });
    expect(target.nodes[0]).toMatchObject({ status: 'unreachable', want: 'drain', have: 'drain' });
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'drain' }] });
    expect(sync.get(hap.id)).toMatchObject({ status: 'in_sync', readFailures: 1 });
  });

  it('reports a diverged target error (nginx -t failed) while keeping its nodes', () => {
    const { sync } = harness();
    const nginx = { id: 'nginx:pexip', kind: 'nginx' as const, target: '/etc/nginx/u.conf', budgetMs: 3000 };
    sync.register(nginx);
    sync.report(nginx.id, { nodes: [{ name: 'px01', want: 'down', have: 'down' }], error: { status: 'diverged', reason: 'nginx -t failed: exit 1' } });
    expect(sync.get(nginx.id)).toMatchObject({ status: 'diverged', reason: 'nginx -t failed: exit 1', readFailures: 0 });
    expect(sync.applied('px01')[nginx.id]).toBe('in_sync');
  });

  it('lists unmanaged servers and counts repairs', () => {
    const { sync, changes } = harness();
    sync.register(hap);
    sync.report(hap.id, { nodes: [], unmanaged: ['old01'] });
    const before = changes.length;
    sync.repaired(hap.id, 2);
    expect(sync.get(hap.id)).toMatchObject({ unmanaged: ['old01'], repairs: 2 });
    expect(changes.length).toBe(before + 1);
  });

  it('turns a silent target unreachable after staleAfterMs without counting a failed read', () => {
    const { sync, advance } = harness();
    const envoy = { id: 'envoy-rest:edge/pexip', kind: 'envoy' as const, target: 'edge', backend: 'pexip', budgetMs: 10_000, staleAfterMs: 30_000 };
    sync.register(envoy);
    sync.report(envoy.id, { nodes: [{ name: 'px01', want: 'DRAINING', have: 'DRAINING' }] });
    advance(30_000);
    sync.tick();
    expect(sync.get(envoy.id)!.status).toBe('in_sync');
    advance(1);
    sync.tick();
    expect(sync.get(envoy.id)).toMatchObject({ status: 'unreachable', readFailures: 0, readAt: 1_000_000 });
    expect(sync.get(envoy.id)!.reason).toMatch(/^no read-back for 30s/);
  });

  it('keeps a target that was seen from turning stale', () => {
    const { sync, advance, changes } = harness();
    const envoy = { id: 'envoy-rest:edge/pexip', kind: 'envoy' as const, target: 'edge', budgetMs: 1000, staleAfterMs: 3000 };
    sync.register(envoy);
    sync.report(envoy.id, { nodes: [] });
    const before = changes.length;
    advance(2500);
    sync.seen(envoy.id);
    advance(2500);
    sync.tick();
    expect(sync.get(envoy.id)).toMatchObject({ status: 'in_sync', readAt: 1_002_500 });
    expect(changes.length).toBe(before);
  });

  it('logs once per target status change, not once per read', () => {
    const { sync, statusChanges } = harness();
    sync.register(hap);
    for (let i = 0; i < 5; i += 1) sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'drain' }] });
    expect(statusChanges.map((event) => [event.previous, event.target.status])).toEqual([[null, 'converging'], ['converging', 'in_sync']]);
  });

  it('keeps at most maxDynamic dynamic targets, dropping the least recently reported', () => {
    const { sync, statusChanges } = harness({ maxDynamic: 2 });
    sync.register(hap);
    const client = (n: number) => ({ id: `envoy-rest:c${n}/pexip`, kind: 'envoy' as const, target: `c${n}`, budgetMs: 1000, dynamic: true });
    sync.register(client(1));
    sync.register(client(2));
    sync.report(client(1).id, { nodes: [] });
    sync.register(client(3));
    expect(sync.ids()).toEqual([hap.id, client(1).id, client(3).id]);
    expect(statusChanges.filter((event) => event.removed).map((event) => event.target.id)).toEqual([client(2).id]);
  });

  it('keeps a target state when it is registered again and forgets it when unregistered', () => {
    const { sync } = harness();
    sync.register(hap);
    sync.report(hap.id, { nodes: [{ name: 'px01', want: 'drain', have: 'drain' }] });
    sync.register({ ...hap, budgetMs: 9000 });
    expect(sync.get(hap.id)!.status).toBe('in_sync');
    expect(sync.unregister(hap.id)).toBe(true);
    expect(sync.applied('px01')).toEqual({});
    expect(sync.unregister(hap.id)).toBe(false);
  });

  it('ignores reports for targets it does not know', () => {
    const { sync } = harness();
    sync.report('nope', { nodes: [{ name: 'px01', want: 'drain', have: 'drain' }] });
    sync.fail('nope', 'unreachable', 'x');
    sync.repaired('nope');
    expect(sync.snapshot()).toEqual([]);
  });
});
