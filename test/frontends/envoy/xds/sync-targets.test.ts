// gRPC xDS clients as closed-loop targets: in_sync after the ACK, converging then diverged without one, diverged on NACK, unreachable when gone.

import { afterEach, expect, test } from 'vitest';
import { LoadBalancerSync } from '../../../../src/core/lb-sync.js';
import { XdsServer, combineObservers } from '../../../../src/frontends/envoy/xds/server.js';
import { createXdsSync } from '../../../../src/frontends/envoy/xds/sync-targets.js';
import { TYPE_URLS } from '../../../../src/frontends/envoy/xds/protos.js';
import { silentLogger } from '../../../../src/core/logger.js';
import { FakeSource, snapshotOf, verdict } from '../fixtures.js';
import { XdsEvents } from './harness.js';
import { rawStream } from './raw-client.js';
import type { NodeVerdict } from '../../../../src/core/snapshot.js';

const EDS = TYPE_URLS.endpoint;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const fleet = (px01: NodeVerdict['state'] = 'ready') => [verdict('px01', px01, { address: '10.0.1.1', weight: 80 }), verdict('px02', 'draining', { address: '10.0.1.2' })];
const subscribe = { node: { id: 'edge-1', cluster: 'edge' }, resource_names: ['pexip'], type_url: EDS };

async function setup(keepClosedMs = 600_000) {
  let now = 1_000_000;
  const sync = new LoadBalancerSync({ now: () => now });
  const source = new FakeSource(snapshotOf(fleet()));
  const loop = createXdsSync({ sync, source, keepClosedMs });
  cleanups.push(() => loop.close());
  const events = new XdsEvents();
  const server = new XdsServer({ source, listen: '127.0.0.1:0', clusterName: 'pexip', logger: silentLogger, observer: combineObservers(loop.observer, events), clock: () => now });
  const port = await server.start();
  cleanups.push(() => server.destroy());
  const stream = rawStream(port);
  cleanups.push(() => stream.close());
  const target = () => sync.snapshot().find((entry) => entry.id.startsWith('envoy-grpc:edge-1@'));
  return { sync, source, events, stream, target, advance: (ms: number) => (now += ms) };
}

test('a client is converging until it ACKs, then in_sync with have = what it accepted', async () => {
  const { stream, events, target } = await setup();
  stream.send(subscribe);
  const first = await stream.next();
  expect(target()).toMatchObject({ kind: 'envoy', status: 'converging', backend: 'pexip' });
  expect(target()!.target).toMatch(/^edge-1 \(127\.0\.0\.1:\d+, gRPC\)$/);
  stream.send({ ...subscribe, version_info: first.version_info, response_nonce: first.nonce });
  await events.acked(EDS, first.version_info);
  expect(target()).toMatchObject({ status: 'in_sync' });
  expect(target()!.nodes.map((node) => [node.name, node.want, node.have])).toEqual([['px01', 'HEALTHY 80', 'HEALTHY 80'], ['px02', 'DRAINING', 'DRAINING']]);
});

test('a push left unacknowledged is converging, and diverged once the 2 s budget has passed', async () => {
  const { sync, stream, source, events, target, advance } = await setup();
  stream.send(subscribe);
  const first = await stream.next();
  stream.send({ ...subscribe, version_info: first.version_info, response_nonce: first.nonce });
  await events.acked(EDS, first.version_info);
  source.set(fleet('draining'));
  await stream.next();
  expect(target()).toMatchObject({ status: 'converging' });
  expect(target()!.nodes.find((node) => node.name === 'px01')).toMatchObject({ want: 'DRAINING', have: 'HEALTHY 80' });
  advance(1999);
  sync.tick();
  expect(target()!.status).toBe('converging');
  advance(2);
  sync.tick();
  expect(target()!.status).toBe('diverged');
});

test('a NACK makes the client diverged with its error_detail as the reason', async () => {
  const { stream, events, target } = await setup();
  stream.send(subscribe);
  const first = await stream.next();
  stream.send({ ...subscribe, response_nonce: first.nonce, error_detail: { code: 3, message: 'endpoints[0].locality unset' } });
  await events.next((event) => event.outcome?.kind === 'nack');
  expect(target()).toMatchObject({ status: 'diverged', reason: `NACK of ${first.version_info}: endpoints[0].locality unset` });
});

test('a closed stream turns the client unreachable and it is removed after the keep time', async () => {
  const { sync, stream, events, target } = await setup(50);
  stream.send(subscribe);
  await stream.next();
  const removed = new Promise<void>((resolve) => sync.onChange((event) => event.removed && resolve()));
  stream.close();
  await events.next((event) => event.closed !== undefined);
  expect(target()).toMatchObject({ status: 'unreachable' });
  expect(target()!.reason).toMatch(/^stream closed: /);
  await removed;
  expect(target()).toBeUndefined();
});
