// Raw ADS/EDS streams decoded with protobufjs: ACK/NACK and nonce bookkeeping, REST-equal versions, limits, a client that never reads.

import { afterEach, describe, expect, test } from 'vitest';
import { status } from '@grpc/grpc-js';
import { createEnvoyEds, EDS_PATH as REST_PATH } from '../../../../src/frontends/envoy/eds-routes.js';
import { XdsServer } from '../../../../src/frontends/envoy/xds/server.js';
import { TYPE_URLS } from '../../../../src/frontends/envoy/xds/protos.js';
import { silentLogger } from '../../../../src/core/logger.js';
import { FakeSource, snapshotOf, testContext, verdict } from '../fixtures.js';
import { XdsEvents } from './harness.js';
import { DELTA_PATH, EDS_PATH, neverReadingStream, rawStream } from './raw-client.js';
import type { XdsServerOptions } from '../../../../src/frontends/envoy/xds/server.js';
import type { NodeVerdict } from '../../../../src/core/snapshot.js';
import type { Logger } from '../../../../src/core/logger.js';

const EDS = TYPE_URLS.endpoint;
const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const fleet = (px01: NodeVerdict['state'] = 'ready') => [
  verdict('px01', px01, { address: '10.0.1.1', weight: 80 }),
  verdict('px02', 'draining', { address: '10.0.1.2' }),
];

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const logger = { ...silentLogger, warnings, warn: (_fields: object, message?: string) => void warnings.push(message ?? ''), child: () => logger };
  return logger;
}

async function serve(nodes: NodeVerdict[], options: Partial<XdsServerOptions> = {}) {
  const source = new FakeSource(snapshotOf(nodes));
  const events = new XdsEvents();
  const server = new XdsServer({ source, listen: '127.0.0.1:0', clusterName: 'pexip', logger: silentLogger, observer: events, ...options });
  const port = await server.start();
  cleanups.push(() => server.destroy());
  const open = (path?: string) => {
    const stream = rawStream(port, path);
    cleanups.push(() => stream.close());
    return stream;
  };
  return { source, events, server, port, open };
}

const subscribe = (names = ['pexip'], node = 'envoy-edge-1') => ({ node: { id: node, cluster: 'edge' }, resource_names: names, type_url: EDS });

describe('state of the world over ADS', () => {
  test('a subscription gets the assignment with the same version_info as REST EDS for the same snapshot', async () => {
    const nodes = fleet();
    const { open } = await serve(nodes);
    const stream = open();
    stream.send(subscribe());
    const response = await stream.next();
    expect(response.type_url).toBe(EDS);
    expect(response.control_plane?.identifier).toBe('drainwatch');
    const [assignment] = stream.decode<{ cluster_name: string; endpoints: { locality: { region: string }; lb_endpoints: { health_status: string; load_balancing_weight: { value: number } | null }[] }[] }>(response, CLA);
    expect(assignment!.cluster_name).toBe('pexip');
    expect(assignment!.endpoints[0]!.locality.region).toBe('drainwatch');
    expect(assignment!.endpoints[0]!.lb_endpoints.map((lb) => [lb.health_status, lb.load_balancing_weight?.value ?? null])).toEqual([['HEALTHY', 80], ['DRAINING', null]]);

    const rest = testContext(nodes);
    createEnvoyEds(rest);
    const polled = await rest.app.request(REST_PATH, { method: 'POST', body: JSON.stringify({ resource_names: ['pexip'], type_url: EDS }), headers: { 'content-type': 'application/json' } });
    expect(((await polled.json()) as { version_info: string }).version_info).toBe(response.version_info);
  });

  test('an ACK is recorded, nothing is resent for it, and a new snapshot is pushed at once with a new nonce', async () => {
    const { open, source, events, server } = await serve(fleet());
    const stream = open();
    stream.send(subscribe());
    const first = await stream.next();
    stream.send({ ...subscribe(), version_info: first.version_info, response_nonce: first.nonce });
    await events.acked(EDS, first.version_info);
    const subscription = server.streams()[0]!.subscriptions.get(EDS)!;
    expect(subscription.acked?.version).toBe(first.version_info);
    expect(server.streams()[0]!.node).toEqual({ id: 'envoy-edge-1', cluster: 'edge', userAgent: '' });

    source.set(fleet('draining'));
    const pushed = await stream.next();
    expect(pushed.version_info).not.toBe(first.version_info);
    expect(pushed.nonce).not.toBe(first.nonce);
    expect(stream.decode<{ endpoints: { lb_endpoints: { health_status: string }[] }[] }>(pushed, CLA)[0]!.endpoints[0]!.lb_endpoints.map((lb) => lb.health_status)).toEqual(['DRAINING', 'DRAINING']);
    // Only the change was sent: one response for the subscription, one for the push.
    expect(events.seen.filter((event) => event.pushed).length).toBe(2);
  });

  test('a NACK is kept per stream, logged once per version however many clients reject it, and serving goes on', async () => {
    const logger = recordingLogger();
    const { open, source, events, server } = await serve(fleet(), { logger });
    const nacks = [open(), open()];
    const rejected: string[] = [];
    for (const stream of nacks) {
      stream.send(subscribe());
      const response = await stream.next();
      rejected.push(response.version_info);
      stream.send({ ...subscribe(), version_info: '', response_nonce: response.nonce, error_detail: { code: 3, message: 'endpoints[0].locality unset' } });
    }
    await events.next((event) => event.outcome?.kind === 'nack' && event.stream.id === '2');
    expect(rejected[0]).toBe(rejected[1]);
    expect(server.streams().map((stream) => stream.subscriptions.get(EDS)!.nack)).toEqual([
      expect.objectContaining({ version: rejected[0], code: 3, message: 'endpoints[0].locality unset' }),
      expect.objectContaining({ version: rejected[0], code: 3, message: 'endpoints[0].locality unset' }),
    ]);
    expect(logger.warnings.filter((message) => message.includes('NACK'))).toHaveLength(1);

    source.set(fleet('down'));
    const next = await nacks[0]!.next();
    expect(next.version_info).not.toBe(rejected[0]);
  });

  test('a request carrying a stale nonce is ignored', async () => {
    const { open, events } = await serve(fleet());
    const stream = open();
    stream.send(subscribe());
    const first = await stream.next();
    stream.send({ ...subscribe(['pexip', 'other']), version_info: first.version_info, response_nonce: 'not-ours' });
    await events.next((event) => event.outcome?.kind === 'stale');
    stream.send({ ...subscribe(), version_info: first.version_info, response_nonce: first.nonce });
    await events.acked(EDS, first.version_info);
    expect(events.seen.filter((event) => event.pushed).length).toBe(1);
  });

  test('two clients on different clusters each get their own answer, and a name drainwatch does not serve gets an empty one', async () => {
    const { open, source, events } = await serve(fleet());
    const ours = open();
    const theirs = open();
    ours.send(subscribe(['pexip'], 'edge-a'));
    theirs.send(subscribe(['other-cluster'], 'edge-b'));
    const [a, b] = await Promise.all([ours.next(), theirs.next()]);
    expect(a.resources).toHaveLength(1);
    expect(b.resources).toEqual([]);
    expect(b.version_info).not.toBe(a.version_info);

    source.set(fleet('draining'));
    await ours.next();
    // Pushes go out to every stream in one pass: had "other-cluster" changed, it would be recorded by now.
    const pushedTo = events.seen.filter((event) => event.pushed).map((event) => event.stream.node?.id);
    expect(pushedTo.filter((id) => id === 'edge-b')).toHaveLength(1);
    expect(pushedTo.filter((id) => id === 'edge-a')).toHaveLength(2);
  });

  test('the EDS service (StreamEndpoints) serves the same assignment when type_url is left empty', async () => {
    const { open } = await serve(fleet());
    const ads = open();
    const eds = open(EDS_PATH);
    ads.send(subscribe());
    eds.send({ node: { id: 'envoy-eds' }, resource_names: ['pexip'] });
    const [viaAds, viaEds] = await Promise.all([ads.next(), eds.next()]);
    expect(viaEds.version_info).toBe(viaAds.version_info);
    expect(viaEds.type_url).toBe(EDS);
  });
});

describe('limits and misbehaving clients', () => {
  test('an ADS request without a type_url ends the stream with INVALID_ARGUMENT', async () => {
    const { open } = await serve(fleet());
    const stream = open();
    stream.send({ node: { id: 'x' }, resource_names: ['pexip'] });
    expect((await stream.ended).code).toBe(status.INVALID_ARGUMENT);
  });

  test('streams beyond max_streams are refused with RESOURCE_EXHAUSTED while the first keeps working', async () => {
    const { open } = await serve(fleet(), { maxStreams: 1 });
    const first = open();
    first.send(subscribe());
    await first.next();
    const second = open();
    second.send(subscribe());
    expect((await second.ended).code).toBe(status.RESOURCE_EXHAUSTED);
  });

  test('Delta xDS is not offered: UNIMPLEMENTED, so clients configured for it fail loudly', async () => {
    const { open } = await serve(fleet());
    const delta = open(DELTA_PATH);
    delta.send({});
    expect((await delta.ended).code).toBe(status.UNIMPLEMENTED);
  });

  test('a client that never reads is dropped after the stall timeout, and the others keep getting every push', async () => {
    // 2,000 endpoints: one response is far larger than an HTTP/2 flow-control window (64 KiB).
    const big = (state: NodeVerdict['state']) => Array.from({ length: 2000 }, (_, i) =>
      verdict(`px${String(i).padStart(4, '0')}`, state, { address: `10.${i >> 8}.${i & 255}.1`, weight: 50 }));
    const { open, source, events, port } = await serve(big('ready'), { stallTimeoutMs: 300 });
    const stuck = neverReadingStream(port, subscribe(['pexip'], 'stuck'));
    cleanups.push(() => stuck.close());
    const healthy = open();
    healthy.send(subscribe(['pexip'], 'healthy'));
    const first = await healthy.next();
    healthy.send({ ...subscribe(['pexip'], 'healthy'), version_info: first.version_info, response_nonce: first.nonce });
    await events.next((event) => event.pushed !== undefined && event.stream.node?.id === 'stuck');

    source.set(big('draining'));
    const second = await healthy.next();
    expect(second.version_info).not.toBe(first.version_info);
    const dropped = await events.next((event) => event.closed !== undefined && event.stream.node?.id === 'stuck');
    expect(dropped.closed).toMatch(/no response was read for 300 ms/);
    source.set(big('ready'));
    expect((await healthy.next()).version_info).toBe(first.version_info);
  });
});
