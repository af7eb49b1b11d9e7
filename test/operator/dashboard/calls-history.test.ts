// The dashboard's calls lines: one point per change on draining nodes, 30 minutes back, bounded, forgotten when done.

import { describe, expect, it } from 'vitest';
import { CallsHistory } from '../../../src/operator/dashboard/calls-history.js';
import type { Snapshot } from '../../../src/core/snapshot.js';

const MIN = 60_000;

function snapshot(nodes: Array<{ name: string; state: string; calls: number | null }>): Snapshot {
  return { version: 1, nodes, guard: { active: false, downCount: 0, total: nodes.length, since: null } } as unknown as Snapshot;
}

describe('CallsHistory', () => {
  it('records a point only when a draining node\'s calls change, and nothing for ready nodes', () => {
    const history = new CallsHistory();
    history.record(snapshot([{ name: 'px01', state: 'draining', calls: 14 }, { name: 'px02', state: 'ready', calls: 30 }]), 0);
    history.record(snapshot([{ name: 'px01', state: 'draining', calls: 14 }, { name: 'px02', state: 'ready', calls: 31 }]), 1 * MIN);
    history.record(snapshot([{ name: 'px01', state: 'draining', calls: 9 }, { name: 'px02', state: 'ready', calls: 32 }]), 2 * MIN);
    expect(history.lines(3 * MIN)).toEqual({ px01: [[0, 14], [2 * MIN, 9]] });
  });

  it('keeps 30 minutes and the value at the window\'s start', () => {
    const history = new CallsHistory();
    for (let minute = 0; minute <= 40; minute += 5) history.record(snapshot([{ name: 'px01', state: 'draining', calls: 40 - minute }]), minute * MIN);
    // At 40 min the window starts at 10 min: the point at 10 is its start value; 0 and 5 are gone.
    expect(history.lines(40 * MIN).px01?.map((point) => point[0] / MIN)).toEqual([10, 15, 20, 25, 30, 35, 40]);
  });

  it('holds at most maxPoints per node however fast the count moves', () => {
    const history = new CallsHistory({ maxPoints: 10 });
    for (let i = 0; i < 1000; i += 1) history.record(snapshot([{ name: 'px01', state: 'draining', calls: i % 2 }]), i);
    expect(history.lines(1000).px01).toHaveLength(10);
  });

  it('forgets a node once it is ready again or gone', () => {
    const history = new CallsHistory();
    history.record(snapshot([{ name: 'px01', state: 'draining', calls: 3 }, { name: 'px02', state: 'maint', calls: 1 }]), 0);
    history.record(snapshot([{ name: 'px01', state: 'ready', calls: 3 }]), 1000);
    expect(history.lines(2000)).toEqual({});
  });
});
