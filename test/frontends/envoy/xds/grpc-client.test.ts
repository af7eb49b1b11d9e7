// gRPC's real xDS client (@grpc/grpc-js-xds) on xds:///pexip, fed by drainwatch, calling three test nodes.

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { status } from '@grpc/grpc-js';
import { TYPE_URLS } from '../../../../src/frontends/envoy/xds/protos.js';
import { startFleet, xdsClient } from './harness.js';
import type { Fleet, XdsTestClient } from './harness.js';
import type { NodeState } from '../../../../src/core/verdict.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fleetWithClient(options: Parameters<typeof startFleet>[0] = {}, bootstrap?: Parameters<typeof xdsClient>[3]): Promise<{ fleet: Fleet; client: XdsTestClient }> {
  const fleet = await startFleet(options);
  cleanups.push(() => fleet.close());
  const client = xdsClient('pexip', fleet.port, 'grpc-test-client', bootstrap);
  cleanups.push(() => client.close());
  return { fleet, client };
}

/** Publishes new states and resolves once the client has ACKed the EDS version that carries them. */
async function publishAndAwaitAck(fleet: Fleet, states: Record<string, NodeState | [NodeState, number]>): Promise<string> {
  const mark = fleet.events.seen.length;
  fleet.set(states);
  const pushed = await fleet.events.next((event) => event.pushed?.typeUrl === TYPE_URLS.endpoint, mark);
  await fleet.events.acked(TYPE_URLS.endpoint, pushed.pushed!.version, mark);
  return pushed.pushed!.version;
}

async function tally(client: XdsTestClient, calls: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < calls; i += 1) {
    const name = await client.which();
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

describe('a proxyless gRPC client fed by drainwatch', () => {
  test('resolves xds:///pexip with the example bootstrap and nothing but drainwatch (LDS, RDS, CDS, EDS over ADS), spreading calls over the three nodes', async () => {
    const example = JSON.parse(readFileSync(new URL('../../../../envoy/grpc-proxyless-bootstrap.json', import.meta.url), 'utf8'));
    const { fleet, client } = await fleetWithClient({}, example);
    await client.which(); // first call: the client has fetched everything and connected
    const counts = await tally(client, 30);
    expect(Object.keys(counts).sort()).toEqual(['px01', 'px02', 'px03']);
    for (const count of Object.values(counts)) expect(count).toBeGreaterThanOrEqual(5);
    expect(fleet.server.streams()[0]!.node?.id).toBe(example.node.id);
    const types = new Set(fleet.events.seen.flatMap((event) => (event.outcome?.kind === 'ack' ? [event.outcome.typeUrl] : [])));
    expect(types).toEqual(new Set([TYPE_URLS.listener, TYPE_URLS.route, TYPE_URLS.cluster, TYPE_URLS.endpoint]));
  });

  test('after the client ACKs px02 DRAINING, no new call reaches px02 and the call in flight on it completes', async () => {
    const { fleet, client } = await fleetWithClient();
    await tally(client, 6);
    const px02 = fleet.nodes[1]!;
    // Round robin: a few held calls put one on px02 (bounded).
    const held: Promise<string>[] = [];
    for (let i = 0; i < 12 && px02.calls.Hold === 0; i += 1) {
      const landed = Promise.race(fleet.nodes.map((node) => node.holding(node.calls.Hold + 1)));
      held.push(client.hold());
      await landed;
    }
    expect(px02.calls.Hold).toBe(1);

    await publishAndAwaitAck(fleet, { px02: 'draining' });
    const before = px02.calls.Which;
    const counts = await tally(client, 30);
    expect(px02.calls.Which).toBe(before);
    expect(counts.px02).toBeUndefined();
    expect(Object.keys(counts).sort()).toEqual(['px01', 'px03']);

    for (const node of fleet.nodes) node.release();
    const answers = await Promise.all(held);
    expect(answers).toContain('px02');
  });

  test('a node coming back from draining gets new calls again', async () => {
    const { fleet, client } = await fleetWithClient();
    await client.which();
    await publishAndAwaitAck(fleet, { px01: 'draining' });
    expect(Object.keys(await tally(client, 12)).sort()).toEqual(['px02', 'px03']);
    await publishAndAwaitAck(fleet, {});
    await client.which();
    expect(Object.keys(await tally(client, 30)).sort()).toEqual(['px01', 'px02', 'px03']);
  });

  test('with every node draining, calls fail at once with UNAVAILABLE (gRPC has no panic mode)', async () => {
    const { fleet, client } = await fleetWithClient();
    await client.which();
    await publishAndAwaitAck(fleet, { px01: 'draining', px02: 'draining', px03: 'maint' });
    // A generous deadline: a call that queued instead of failing would end DEADLINE_EXCEEDED.
    await expect(client.which(20_000)).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });
});

describe('weights and gRPC (round robin ignores endpoint weights, honours locality weights)', () => {
  const weighted = { px01: ['ready', 75], px02: ['ready', 25], px03: 'down' } as Record<string, NodeState | [NodeState, number]>;

  test('with locality_per_node, load follows the node weights (75/25)', async () => {
    const { fleet, client } = await fleetWithClient({ shape: { weights: 'locality_per_node' } });
    await client.which();
    await publishAndAwaitAck(fleet, weighted);
    await client.which();
    const counts = await tally(client, 200);
    expect(counts.px03).toBeUndefined();
    // Binomial(200, 0.75): mean 150, sd 6.1; [120, 180] is ±5 sd.
    expect(counts.px01 ?? 0).toBeGreaterThanOrEqual(120);
    expect(counts.px01 ?? 0).toBeLessThanOrEqual(180);
  });

  test('with endpoint weights (the default shape), the same weights give an even split: the documented caveat', async () => {
    const { fleet, client } = await fleetWithClient();
    await client.which();
    await publishAndAwaitAck(fleet, weighted);
    await client.which();
    const counts = await tally(client, 100);
    expect(counts.px03).toBeUndefined();
    expect(counts.px01 ?? 0).toBeGreaterThanOrEqual(40);
    expect(counts.px01 ?? 0).toBeLessThanOrEqual(60);
  });
});
