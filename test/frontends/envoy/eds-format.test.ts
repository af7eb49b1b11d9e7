// REST EDS formatting: every response parses strictly as a v3 DiscoveryResponse and carries the right statuses and weights.

import { beforeAll, describe, expect, test } from 'vitest';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE,
  answerDiscoveryRequest,
  discoveryResponse,
  edsEndpointStatus,
  parseDiscoveryRequest,
  renderLoadAssignment,
} from '../../../src/frontends/envoy/eds-format.js';
import { loadEnvoyValidator } from './proto-validator.js';
import { expectValidResponse } from './eds-assert.js';
import { verdict } from './fixtures.js';
import type { DiscoveryRequest, DiscoveryResponseJson } from '../../../src/frontends/envoy/eds-format.js';
import type { NodeVerdict } from '../../../src/core/snapshot.js';
import type { ProtoValidator } from './proto-validator.js';

let validator: ProtoValidator;
beforeAll(async () => {
  validator = await loadEnvoyValidator();
});

const request = (patch: Partial<DiscoveryRequest> = {}): DiscoveryRequest => ({
  versionInfo: '', resourceNames: ['pexip'], typeUrl: CLUSTER_LOAD_ASSIGNMENT_TYPE, responseNonce: '', nodeId: 'envoy-1', errorDetail: null, ...patch,
});

/** name → [health_status, weight] of a rendered response. */
function statuses(response: DiscoveryResponseJson): Record<string, [string, number | undefined]> {
  const out: Record<string, [string, number | undefined]> = {};
  for (const resource of response.resources) {
    for (const locality of resource.endpoints) {
      for (const lb of locality.lb_endpoints) out[lb.endpoint.hostname] = [lb.health_status, lb.load_balancing_weight];
    }
  }
  return out;
}

const respond = (nodes: NodeVerdict[]) => discoveryResponse([renderLoadAssignment('pexip', nodes).assignment]);

describe('EDS status mapping (DESIGN §2)', () => {
  test.each([
    ['ready', 65, 'HEALTHY', 65],
    ['ready', 0, 'HEALTHY', 1],
    ['ready', 250, 'HEALTHY', 100],
    ['draining', 65, 'DRAINING', undefined],
    ['maint', 65, 'UNHEALTHY', undefined],
    ['down', 65, 'UNHEALTHY', undefined],
    ['unknown', 65, 'UNKNOWN', 1],
  ] as const)('%s with weight %i → %s, load_balancing_weight %s', (state, weight, status, lbWeight) => {
    expect(edsEndpointStatus(state, weight)).toEqual(lbWeight === undefined ? { health_status: status } : { health_status: status, load_balancing_weight: lbWeight });
    const response = respond([verdict('px01', state, { weight })]);
    expectValidResponse(validator, response);
    expect(statuses(response)).toEqual({ px01: [status, lbWeight] });
  });

  test('a mixed fleet lists every node, sorted by name, with its own status and weight', () => {
    const nodes = [
      verdict('px05', 'unknown'),
      verdict('px02', 'draining', { weight: 80 }),
      verdict('px01', 'ready', { weight: 35, degraded: true, load: 92 }),
      verdict('px04', 'down'),
      verdict('px03', 'maint'),
      verdict('px06', 'ready', { weight: 100 }),
    ];
    const response = respond(nodes);
    expectValidResponse(validator, response);
    expect(statuses(response)).toEqual({
      px01: ['HEALTHY', 35],
      px02: ['DRAINING', undefined],
      px03: ['UNHEALTHY', undefined],
      px04: ['UNHEALTHY', undefined],
      px05: ['UNKNOWN', 1],
      px06: ['HEALTHY', 100],
    });
    const names = response.resources[0]!.endpoints[0]!.lb_endpoints.map((lb) => lb.endpoint.hostname);
    expect(names).toEqual(['px01', 'px02', 'px03', 'px04', 'px05', 'px06']);
    expect(response.resources[0]!.cluster_name).toBe('pexip');
  });

  test('an empty fleet is a valid assignment with no endpoints', () => {
    const response = respond([]);
    expectValidResponse(validator, response);
    expect(response.resources[0]!.endpoints).toEqual([]);
  });

  test('IPv6 addresses are accepted and host names are left out (EDS needs IP literals)', () => {
    const rendered = renderLoadAssignment('pexip', [
      verdict('px01', 'ready', { address: '2001:db8::11' }),
      verdict('px02', 'ready', { address: '[2001:db8::12]' }),
      verdict('px03', 'ready', { address: 'px03.example.com' }),
    ]);
    expect(rendered.skipped).toEqual(['px03']);
    const response = discoveryResponse([rendered.assignment]);
    expectValidResponse(validator, response);
    expect(rendered.assignment.endpoints[0]!.lb_endpoints.map((lb) => lb.endpoint.address.socket_address.address)).toEqual(['2001:db8::11', '2001:db8::12']);
  });
});

describe('localities (gRPC NACKs a group without one and drops one without a weight)', () => {
  const fleet = () => [verdict('px02', 'draining', { weight: 80 }), verdict('px01', 'ready', { weight: 35 }), verdict('px03', 'unknown')];

  test('every endpoint group gets the default region "drainwatch" and a locality weight', () => {
    const response = respond(fleet());
    expectValidResponse(validator, response);
    const groups = response.resources[0]!.endpoints;
    expect(groups.map((group) => [group.locality, group.load_balancing_weight, group.lb_endpoints.length])).toEqual([[{ region: 'drainwatch' }, 1, 3]]);
  });

  test('a configured region, zone and sub-zone are carried as given', () => {
    const assignment = renderLoadAssignment('pexip', fleet(), { locality: { region: 'eu-west', zone: 'az1', sub_zone: 'rack7' } }).assignment;
    expectValidResponse(validator, discoveryResponse([assignment]));
    expect(assignment.endpoints[0]!.locality).toEqual({ region: 'eu-west', zone: 'az1', sub_zone: 'rack7' });
  });

  test('locality_per_node gives each node its own sub-zone weighted by the node, excluded nodes weighing 1', () => {
    const assignment = renderLoadAssignment('pexip', fleet(), { locality: { region: 'eu-west' }, weights: 'locality_per_node' }).assignment;
    expectValidResponse(validator, discoveryResponse([assignment]));
    expect(assignment.endpoints.map((group) => [group.locality, group.load_balancing_weight, group.lb_endpoints.map((lb) => lb.endpoint.hostname)])).toEqual([
      [{ region: 'eu-west', sub_zone: 'px01' }, 35, ['px01']],
      [{ region: 'eu-west', sub_zone: 'px02' }, 1, ['px02']],
      [{ region: 'eu-west', sub_zone: 'px03' }, 1, ['px03']],
    ]);
  });

  test('the shape is part of the content, so the version differs between shapes and not between equal ones', () => {
    const nodes = fleet();
    const once = discoveryResponse([renderLoadAssignment('pexip', nodes, { weights: 'locality_per_node' }).assignment]).version_info;
    const again = discoveryResponse([renderLoadAssignment('pexip', [...nodes], { weights: 'locality_per_node' }).assignment]).version_info;
    expect(again).toBe(once);
    expect(respond(nodes).version_info).not.toBe(once);
  });
});

test('the response check itself fails on a weight of 0 or an unknown status inside a resource', () => {
  const response = respond([verdict('px01', 'ready', { address: '10.0.1.1' })]) as unknown as { resources: { endpoints: { lb_endpoints: Record<string, unknown>[] }[] }[] };
  const lb = response.resources[0]!.endpoints[0]!.lb_endpoints[0]!;
  lb.load_balancing_weight = 0;
  expect(validator.validate('envoy.service.discovery.v3.DiscoveryResponse', response).errors).toEqual([expect.stringMatching(/resources\[0\]\.endpoints\[0\]\.lb_endpoints\[0\]\.load_balancing_weight: must be >= 1/)]);
  lb.load_balancing_weight = 1;
  lb.health_status = 'MAINTENANCE';
  expect(validator.validate('envoy.service.discovery.v3.DiscoveryResponse', response).errors).toEqual([expect.stringMatching(/health_status: "MAINTENANCE" is not a/)]);
});

describe('version_info', () => {
  const base = () => [verdict('px01', 'ready', { address: '10.0.1.1', weight: 70 }), verdict('px02', 'ready', { address: '10.0.1.2', weight: 90 })];

  test('stays the same when nothing carried changes (snapshot version, reason, load, age)', () => {
    const first = respond(base());
    const [a, b] = base();
    const second = respond([{ ...a!, version: 9, reason: 'something else', load: 31, observedAt: 12345 }, { ...b!, version: 9, since: 99 }]);
    expect(second.version_info).toBe(first.version_info);
    expect(second).toEqual(first);
  });

  test('changes when a status, a weight, an address or the node list changes', () => {
    const first = respond(base()).version_info;
    const [a, b] = base();
    const variants = [
      [{ ...a!, state: 'draining' as const }, b!],
      [{ ...a!, weight: 75 }, b!],
      [{ ...a!, address: '10.0.1.9' }, b!],
      [{ ...a!, port: 8443 }, b!],
      [a!],
    ];
    const versions = variants.map((nodes) => respond(nodes).version_info);
    for (const version of versions) expect(version).not.toBe(first);
    expect(new Set(versions).size).toBe(versions.length);
  });

  test('is independent of inventory order, so replicas agree', () => {
    expect(respond(base().reverse()).version_info).toBe(respond(base()).version_info);
  });
});

describe('REST polling rules', () => {
  const nodes = [verdict('px01', 'ready', { address: '10.0.1.1' })];
  const render = () => renderLoadAssignment('pexip', nodes).assignment;

  test('the first request (no version) gets the assignment', () => {
    const answer = answerDiscoveryRequest(request(), 'pexip', render);
    expect(answer).toMatchObject({ status: 200, result: 'update' });
    expectValidResponse(validator, answer.body);
    expect(answer.body!.nonce).toBe(answer.version);
  });

  test('a request repeating the current version gets 304 Not Modified and no body', () => {
    const { version } = answerDiscoveryRequest(request(), 'pexip', render);
    expect(answerDiscoveryRequest(request({ versionInfo: version, responseNonce: version }), 'pexip', render)).toMatchObject({ status: 304, body: null, result: 'unchanged' });
  });

  test('a request holding an older version gets the new assignment', () => {
    expect(answerDiscoveryRequest(request({ versionInfo: 'older' }), 'pexip', render)).toMatchObject({ status: 200, result: 'update' });
  });

  test('an empty resource list (legacy wildcard) and "*" both get our cluster', () => {
    for (const names of [[], ['*']]) {
      const answer = answerDiscoveryRequest(request({ resourceNames: names }), 'pexip', render);
      expect(answer.body!.resources.map((resource) => resource.cluster_name)).toEqual(['pexip']);
      expect(answer.otherNames).toEqual([]);
    }
  });

  test('a request naming only other clusters gets no resources (never one it did not ask for), then 304', () => {
    const answer = answerDiscoveryRequest(request({ resourceNames: ['other'] }), 'pexip', render);
    expect(answer).toMatchObject({ status: 200, result: 'other_cluster', otherNames: ['other'] });
    expect(answer.body!.resources).toEqual([]);
    expectValidResponse(validator, answer.body);
    expect(answerDiscoveryRequest(request({ resourceNames: ['other'], versionInfo: answer.version }), 'pexip', render)).toMatchObject({ status: 304, result: 'other_cluster' });
  });

  test('a request naming ours and others gets ours only', () => {
    const answer = answerDiscoveryRequest(request({ resourceNames: ['other', 'pexip'] }), 'pexip', render);
    expect(answer.body!.resources.map((resource) => resource.cluster_name)).toEqual(['pexip']);
    expect(answer.otherNames).toEqual(['other']);
  });

  test('a NACK of the current version is not answered with the same content again (304)', () => {
    const { version } = answerDiscoveryRequest(request(), 'pexip', render);
    const nack = request({ versionInfo: 'previous', responseNonce: version, errorDetail: { code: 3, message: 'bad weight' } });
    expect(answerDiscoveryRequest(nack, 'pexip', render)).toMatchObject({ status: 304, result: 'nack' });
  });

  test('a NACK of an older version gets the current content', () => {
    const nack = request({ versionInfo: 'previous', responseNonce: 'rejected-one', errorDetail: { code: 3, message: 'bad' } });
    const answer = answerDiscoveryRequest(nack, 'pexip', render);
    expect(answer).toMatchObject({ status: 200, result: 'nack' });
    expectValidResponse(validator, answer.body);
  });
});

describe('parseDiscoveryRequest', () => {
  test('accepts Envoy\'s request in snake_case and in lowerCamelCase (proto3 JSON)', () => {
    const snake = { version_info: 'v1', node: { id: 'envoy-1', cluster: 'edge', user_agent_name: 'envoy' }, resource_names: ['pexip'], type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE, response_nonce: 'n' };
    const camel = { versionInfo: 'v1', node: { id: 'envoy-1' }, resourceNames: ['pexip'], typeUrl: CLUSTER_LOAD_ASSIGNMENT_TYPE, responseNonce: 'n' };
    const expected = { versionInfo: 'v1', resourceNames: ['pexip'], typeUrl: CLUSTER_LOAD_ASSIGNMENT_TYPE, responseNonce: 'n', nodeId: 'envoy-1', errorDetail: null };
    expect(parseDiscoveryRequest(snake)).toEqual({ ok: true, request: expected });
    expect(parseDiscoveryRequest(camel)).toEqual({ ok: true, request: expected });
    expect(parseDiscoveryRequest({})).toMatchObject({ ok: true, request: { resourceNames: [], versionInfo: '' } });
    expect(parseDiscoveryRequest({ error_detail: { code: 3, message: 'no' } })).toMatchObject({ ok: true, request: { errorDetail: { code: 3, message: 'no' } } });
  });

  test('the requests used here are themselves valid DiscoveryRequests', () => {
    const result = validator.validate('envoy.service.discovery.v3.DiscoveryRequest', {
      version_info: 'v1', node: { id: 'envoy-1', cluster: 'edge' }, resource_names: ['pexip'], type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE,
      response_nonce: 'n', error_detail: { code: 3, message: 'bad weight' },
    });
    expect(result.errors).toEqual([]);
  });

  test.each([
    ['a list', [], /JSON object/],
    ['a string', 'pexip', /JSON object/],
    ['an unknown field', { resource_name: ['pexip'] }, /unknown DiscoveryRequest field "resource_name"/],
    ['a field given twice', { resource_names: ['a'], resourceNames: ['b'] }, /given twice/],
    ['resource_names as a string', { resource_names: 'pexip' }, /"resource_names" must be a list of strings/],
    ['resource_names with a number', { resource_names: ['pexip', 1] }, /"resource_names" must be a list of strings/],
    ['another type_url', { type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster' }, /"type_url" must be/],
    ['version_info as a number', { version_info: 3 }, /"version_info" must be a string/],
    ['node as a string', { node: 'envoy' }, /"node" must be an object/],
    ['error_detail as a string', { error_detail: 'bad' }, /"error_detail" must be an object/],
    ['error_detail.code as text', { error_detail: { code: 'INVALID' } }, /"error_detail.code" must be an integer/],
  ])('rejects %s with the reason', (_what, body, reason) => {
    const result = parseDiscoveryRequest(body);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toMatch(reason);
  });
});
