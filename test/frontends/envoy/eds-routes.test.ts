// POST /v3/discovery:endpoints: validated, size-capped requests; strict DiscoveryResponses; 304 when unchanged.

import { beforeAll, describe, expect, test } from 'vitest';
import { createEnvoyEds, EDS_PATH } from '../../../src/frontends/envoy/eds-routes.js';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE } from '../../../src/frontends/envoy/eds-format.js';
import { loadEnvoyValidator } from './proto-validator.js';
import { expectValidResponse } from './eds-assert.js';
import { counterValue, testContext, verdict } from './fixtures.js';
import type { DiscoveryResponseJson } from '../../../src/frontends/envoy/eds-format.js';
import type { ProtoValidator } from './proto-validator.js';

let validator: ProtoValidator;
beforeAll(async () => {
  validator = await loadEnvoyValidator();
});

// What Envoy's REST subscription sends (resource names sorted, node filled in).
const envoyRequest = (versionInfo = '', names = ['pexip']) => ({
  version_info: versionInfo,
  node: { id: 'envoy-edge-1', cluster: 'pexip-edge', user_agent_name: 'envoy' },
  resource_names: names,
  type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE,
});

function setup(configPatch: Record<string, unknown> = {}) {
  const context = testContext(
    [verdict('px01', 'ready', { address: '10.0.1.1', weight: 80 }), verdict('px02', 'draining', { address: '10.0.1.2' })],
    configPatch,
  );
  createEnvoyEds(context);
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    context.app.request(EDS_PATH, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  const count = (result: string) => counterValue(context.metrics, 'drainwatch_envoy_eds_requests_total', { result });
  return { context, post, count };
}

describe('a poll cycle as Envoy runs it', () => {
  test('first poll gets the assignment, the ACK with that version gets 304, a change gets a new version', async () => {
    const { post, context, count } = setup();
    const first = await post(envoyRequest());
    expect(first.status).toBe(200);
    const body = (await first.json()) as DiscoveryResponseJson;
    expectValidResponse(validator, body);
    expect(body.resources[0]!.endpoints[0]!.lb_endpoints.map((lb) => [lb.endpoint.hostname, lb.health_status, lb.load_balancing_weight])).toEqual([
      ['px01', 'HEALTHY', 80],
      ['px02', 'DRAINING', undefined],
    ]);

    const again = await post(envoyRequest(body.version_info));
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');

    context.source.set([verdict('px01', 'draining', { address: '10.0.1.1' }), verdict('px02', 'draining', { address: '10.0.1.2' })]);
    const changed = await post(envoyRequest(body.version_info));
    expect(changed.status).toBe(200);
    const next = (await changed.json()) as DiscoveryResponseJson;
    expectValidResponse(validator, next);
    expect(next.version_info).not.toBe(body.version_info);
    expect(next.resources[0]!.endpoints[0]!.lb_endpoints.map((lb) => lb.health_status)).toEqual(['DRAINING', 'DRAINING']);

    expect([await count('update'), await count('unchanged')]).toEqual([2, 1]);
  });

  test('a snapshot change that carries nothing new keeps answering 304', async () => {
    const { post, context } = setup();
    const body = (await (await post(envoyRequest())).json()) as DiscoveryResponseJson;
    context.source.set([verdict('px01', 'ready', { address: '10.0.1.1', weight: 80, reason: 'new words' }), verdict('px02', 'draining', { address: '10.0.1.2', load: 12 })]);
    expect((await post(envoyRequest(body.version_info))).status).toBe(304);
  });

  test('the cluster name comes from envoy.cluster_name', async () => {
    const { post } = setup({ envoy: { cluster_name: 'conferencing' } });
    const body = (await (await post(envoyRequest('', ['conferencing']))).json()) as DiscoveryResponseJson;
    expectValidResponse(validator, body);
    expect(body.resources.map((resource) => resource.cluster_name)).toEqual(['conferencing']);
  });

  test('a request for another cluster gets an empty, valid response and is counted', async () => {
    const { post, count } = setup();
    const response = await post(envoyRequest('', ['billing']));
    expect(response.status).toBe(200);
    const body = (await response.json()) as DiscoveryResponseJson;
    expectValidResponse(validator, body);
    expect(body.resources).toEqual([]);
    expect(await count('other_cluster')).toBe(1);
  });

  test('a NACK is counted and the rejected content is not sent again', async () => {
    const { post, count } = setup();
    const body = (await (await post(envoyRequest())).json()) as DiscoveryResponseJson;
    const nack = { ...envoyRequest(''), response_nonce: body.nonce, error_detail: { code: 3, message: 'Unexpected EDS cluster' } };
    expect((await post(nack)).status).toBe(304);
    expect(await count('nack')).toBe(1);
  });
});

describe('bad requests', () => {
  test.each([
    ['not JSON', '{"resource_names": [', /^the body is not JSON/],
    ['a JSON list', '[]', /^malformed DiscoveryRequest: the body must be a JSON object/],
    ['a misspelled field', { resource_name: ['pexip'] }, /^malformed DiscoveryRequest: unknown DiscoveryRequest field "resource_name"/],
    ['another resource type', { type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster' }, /^malformed DiscoveryRequest: "type_url" must be/],
    ['an empty body', '', /^the body is not JSON/],
  ])('%s gets 400 with the reason', async (_what, body, reason) => {
    const { post, count } = setup();
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(reason);
    expect(await count('bad_request')).toBe(1);
  });

  test('a body over http.body_limit gets 413, by declared length and by actual size', async () => {
    const { post, context } = setup({ http: { body_limit: 200 } });
    const big = JSON.stringify({ ...envoyRequest(), resource_names: Array.from({ length: 50 }, (_, i) => `cluster-${i}`) });
    const declared = await post(big);
    expect(declared.status).toBe(413);
    expect(await declared.text()).toMatch(/over the 200-byte limit \(http\.body_limit\)/);
    // No content-length: a stream that keeps going.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i += 1) controller.enqueue(new TextEncoder().encode(' '.repeat(100)));
        controller.close();
      },
    });
    const streamed = await context.app.request(EDS_PATH, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  test('only POST is served', async () => {
    const { context } = setup();
    expect((await context.app.request(EDS_PATH)).status).toBe(404);
  });
});
