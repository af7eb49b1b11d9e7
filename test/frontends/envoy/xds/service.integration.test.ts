// Integration: a real Service probing simulated nodes feeds gRPC's real xDS client; maintenance drains a node once the client ACKs.

import { expect, onTestFinished, test } from 'vitest';
import { Simulator } from '../../../../src/simulator/index.js';
import { startTestService } from '../../../helpers/service.js';
import { startNode, xdsClient } from './harness.js';
import type { TargetSync } from '../../../../src/core/lb-sync.js';

/** Resolves with the first gRPC target (already there or still to come) that `match` accepts. */
function targetWhen(sync: { snapshot(): TargetSync[]; onChange(listener: () => void): () => void }, match: (target: TargetSync) => boolean): Promise<TargetSync> {
  return new Promise((resolve) => {
    const check = () => {
      const found = sync.snapshot().find((target) => target.id.startsWith('envoy-grpc:') && match(target));
      if (!found) return;
      stop();
      resolve(found);
    };
    const stop = sync.onChange(check);
    check();
  });
}

test('a node put into maintenance on the simulator gets no new calls once the gRPC client has ACKed DRAINING, and the client shows in_sync', async () => {
  const sim = await Simulator.start({ nodes: 3, management: false });
  onTestFinished(() => sim.close());
  const simNodes = sim.nodes();
  // The gRPC servers are the nodes' traffic addresses; their health comes from the simulated status endpoints.
  const grpcNodes = await Promise.all(simNodes.map((node) => startNode(node.name)));
  onTestFinished(async () => {
    for (const node of grpcNodes) node.release();
    await Promise.all(grpcNodes.map((node) => node.close()));
  });
  const running = await startTestService({
    nodes: simNodes.map((node, i) => ({ name: node.name, address: '127.0.0.1', port: grpcNodes[i]!.port, status_url: node.statusUrl })),
    probe: { interval: '200ms', timeout: '180ms', jitter: 0, rise: 2, fall: 3, max_age: '5s' },
    envoy: { grpc: { listen: '127.0.0.1:0', proxyless: { listener: 'pexip' } } },
  });
  onTestFinished(() => running.close());
  const port = (running.service.frontend('envoy-grpc') as unknown as { port(): number | null }).port();
  expect(port).toBeGreaterThan(0);
  const { sync } = running.service;
  const allReady = (target: TargetSync) => target.status === 'in_sync' && target.nodes.length === 3 && target.nodes.every((node) => node.have?.startsWith('HEALTHY'));

  const client = xdsClient('pexip', port!, 'integration-client');
  onTestFinished(() => client.close());
  // The first call waits for the resolver; probes may still be coming in, so wait for every node HEALTHY at the client.
  await client.which();
  await targetWhen(sync, allReady);
  const spread = new Set<string>();
  for (let i = 0; i < 12; i += 1) spread.add(await client.which());
  expect([...spread].sort()).toEqual(simNodes.map((node) => node.name).sort());

  const drained = simNodes[1]!.name;
  const held = grpcNodes[1]!;
  const inFlight: Promise<string>[] = [];
  for (let i = 0; i < 12 && held.calls.Hold === 0; i += 1) {
    const landed = Promise.race(grpcNodes.map((node) => node.holding(node.calls.Hold + 1)));
    inFlight.push(client.hold());
    await landed;
  }
  expect(held.calls.Hold).toBe(1);

  await sim.setPhase(drained, 'maintenance', 'Software upgrade');
  const target = await targetWhen(sync, (entry) => entry.status === 'in_sync' && entry.nodes.some((node) => node.name === drained && node.have === 'DRAINING'));
  expect(target.kind).toBe('envoy');
  const before = held.calls.Which;
  for (let i = 0; i < 20; i += 1) expect(await client.which()).not.toBe(drained);
  expect(held.calls.Which).toBe(before);

  for (const node of grpcNodes) node.release();
  expect(await Promise.all(inFlight)).toContain(drained);
}, 30_000);
