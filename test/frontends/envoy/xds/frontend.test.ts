// The gRPC xDS front-end as the service runs it: config keys, off by default, REST-equal versions, metrics, the closed loop, reload.

import { afterEach, describe, expect, test } from 'vitest';
import { ConfigSchema } from '../../../../src/config/schema.js';
import { LoadBalancerSync } from '../../../../src/core/lb-sync.js';
import { createEnvoyEds, EDS_PATH as REST_PATH } from '../../../../src/frontends/envoy/eds-routes.js';
import { createEnvoyGrpc } from '../../../../src/frontends/envoy/xds/index.js';
import { TYPE_URLS } from '../../../../src/frontends/envoy/xds/protos.js';
import { counterValue, testContext, verdict } from '../fixtures.js';
import { rawStream } from './raw-client.js';
import type { TestContext } from '../fixtures.js';

const EDS = TYPE_URLS.endpoint;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const nodes = () => [verdict('px01', 'ready', { address: '10.0.1.1', weight: 60 }), verdict('px02', 'draining', { address: '10.0.1.2' })];

async function started(patch: Record<string, unknown>) {
  const context: TestContext = testContext(nodes(), patch);
  context.sync = new LoadBalancerSync();
  createEnvoyEds(context);
  const frontend = createEnvoyGrpc(context);
  await frontend.start!();
  cleanups.push(() => frontend.destroy());
  return { context, frontend };
}

async function restVersion(context: TestContext, cluster = 'pexip'): Promise<string> {
  const response = await context.app.request(REST_PATH, { method: 'POST', body: JSON.stringify({ resource_names: [cluster], type_url: EDS }), headers: { 'content-type': 'application/json' } });
  return ((await response.json()) as { version_info: string }).version_info;
}

describe('configuration', () => {
  test('envoy.grpc is off by default and envoy.locality defaults to region drainwatch', () => {
    const config = ConfigSchema.parse({});
    expect(config.envoy.grpc).toBeNull();
    expect(config.envoy.locality).toEqual({ region: 'drainwatch', zone: '', sub_zone: '' });
  });

  test('envoy.grpc: {} listens on 127.0.0.1:18000 with documented defaults', () => {
    const grpc = ConfigSchema.parse({ envoy: { grpc: {} } }).envoy.grpc!;
    expect(grpc).toMatchObject({ listen: { host: '127.0.0.1', port: 18000 }, proxyless: null, weights: 'endpoint', keepalive_time: 30_000, keepalive_timeout: 10_000, stall_timeout: 30_000, max_streams: 1000, max_streams_per_connection: 100 });
  });

  test('mistakes are reported in plain sentences, every one in one pass', () => {
    const result = ConfigSchema.safeParse({ envoy: { grpc: { weights: 'random', listen: 'nowhere', proxyless: { listener: '' }, keepalive: '1s' } } });
    expect(result.success).toBe(false);
    const messages = result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(messages).toEqual(expect.arrayContaining([
      expect.stringMatching(/^envoy\.grpc\.weights: must be "endpoint" or "locality_per_node"/),
      expect.stringMatching(/^envoy\.grpc\.listen: "nowhere" is not a listen address/),
      expect.stringMatching(/^envoy\.grpc\.proxyless\.listener: must be the listener name/),
      expect.stringMatching(/keepalive/),
    ]));
  });
});

describe('the running front-end', () => {
  test('without envoy.grpc nothing listens', async () => {
    const { frontend } = await started({});
    expect(frontend.port()).toBeNull();
  });

  test('REST and gRPC carry the same version for the same verdicts, with a configured locality and locality_per_node', async () => {
    const { context, frontend } = await started({ envoy: { locality: { region: 'eu-west', zone: 'az1' }, grpc: { listen: '127.0.0.1:0', weights: 'locality_per_node' } } });
    const stream = rawStream(frontend.port()!);
    cleanups.push(() => stream.close());
    stream.send({ node: { id: 'edge-1' }, resource_names: ['pexip'], type_url: EDS });
    const response = await stream.next();
    expect(response.version_info).toBe(await restVersion(context));
    const [assignment] = stream.decode<{ endpoints: { locality: { region: string; zone: string; sub_zone: string }; load_balancing_weight: { value: number } }[] }>(response, 'envoy.config.endpoint.v3.ClusterLoadAssignment');
    expect(assignment!.endpoints.map((group) => [group.locality, group.load_balancing_weight.value])).toEqual([
      [{ region: 'eu-west', zone: 'az1', sub_zone: 'px01' }, 60],
      [{ region: 'eu-west', zone: 'az1', sub_zone: 'px02' }, 1],
    ]);
  });

  test('requests and responses are counted, and the client is listed as a load-balancer target', async () => {
    const { context, frontend } = await started({ envoy: { grpc: { listen: '127.0.0.1:0' } } });
    const stream = rawStream(frontend.port()!);
    cleanups.push(() => stream.close());
    stream.send({ node: { id: 'edge-1' }, resource_names: ['pexip'], type_url: EDS });
    const response = await stream.next();
    stream.send({ node: { id: 'edge-1' }, resource_names: ['pexip'], type_url: EDS, version_info: response.version_info, response_nonce: response.nonce });
    await new Promise<void>((resolve) => {
      const done = () => context.sync!.snapshot().some((target) => target.status === 'in_sync') && resolve();
      context.sync!.onChange(done);
      done();
    });
    expect(await counterValue(context.metrics, 'drainwatch_envoy_xds_requests_total', { type: 'endpoint', result: 'subscribe' })).toBe(1);
    expect(await counterValue(context.metrics, 'drainwatch_envoy_xds_requests_total', { type: 'endpoint', result: 'ack' })).toBe(1);
    expect(await counterValue(context.metrics, 'drainwatch_envoy_xds_responses_total', { type: 'endpoint' })).toBe(1);
    expect(context.sync!.snapshot()).toEqual([expect.objectContaining({ kind: 'envoy', status: 'in_sync', id: expect.stringMatching(/^envoy-grpc:edge-1@/) })]);
  });

  test('a reload that changes the cluster name re-renders on the open stream; one that changes listen moves the listener', async () => {
    const { context, frontend } = await started({ envoy: { grpc: { listen: '127.0.0.1:0' } } });
    const port = frontend.port()!;
    const stream = rawStream(port);
    cleanups.push(() => stream.close());
    stream.send({ node: { id: 'edge-1' }, resource_names: ['*'], type_url: EDS });
    const first = await stream.next();
    expect(first.resources).toHaveLength(1);
    context.setConfig({ envoy: { cluster_name: 'pexip-eu', grpc: { listen: '127.0.0.1:0' } } });
    await frontend.reload!();
    const second = await stream.next();
    expect(stream.decode<{ cluster_name: string }>(second, 'envoy.config.endpoint.v3.ClusterLoadAssignment')[0]!.cluster_name).toBe('pexip-eu');
    expect(frontend.port()).toBe(port);

    context.setConfig({ envoy: { cluster_name: 'pexip-eu', grpc: { listen: '127.0.0.1:0', max_streams: 5 } } });
    await frontend.reload!();
    expect((await stream.ended).details).toMatch(/shutting down/);
    expect(frontend.port()).not.toBeNull();
  });
});
