// xDS resources: vendored protos match gRPC's copies, proxyless CDS/LDS/RDS are valid Envoy protos, responses are encoded once.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { decodeMessage, protoDir, TYPE_URLS } from '../../../../src/frontends/envoy/xds/protos.js';
import { ResourceCatalog, proxylessResources, withNonce } from '../../../../src/frontends/envoy/xds/resources.js';
import { discoveryResponse, renderLoadAssignment } from '../../../../src/frontends/envoy/eds-format.js';
import { loadEnvoyValidator } from '../proto-validator.js';
import { snapshotOf, verdict } from '../fixtures.js';
import type { ProtoValidator } from '../proto-validator.js';

const require = createRequire(import.meta.url);

let validator: ProtoValidator;
beforeAll(async () => {
  validator = await loadEnvoyValidator();
});

test('the vendored protos are byte-for-byte the copies @grpc/grpc-js-xds ships', () => {
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const sources = readFileSync(join(protoDir(), 'SOURCES.txt'), 'utf8').trim().split('\n').map((line) => line.split(' ') as [string, string]);
  expect(sources.length).toBe(69);
  const differing = sources.filter(([tree, path]) => !readFileSync(join(deps, tree, path)).equals(readFileSync(join(protoDir(), path))));
  expect(differing).toEqual([]);
});

describe('proxyless resources', () => {
  const trio = proxylessResources('pexip', 'pexip-listener');

  test.each([
    ['envoy.config.cluster.v3.Cluster', trio.cluster],
    ['envoy.config.listener.v3.Listener', trio.listener],
    ['envoy.config.route.v3.RouteConfiguration', trio.route],
  ])('%s passes the strict Envoy proto check', (type, { '@type': typeUrl, ...json }) => {
    expect(typeUrl).toBe(`type.googleapis.com/${type}`);
    expect(validator.validate(type, json).errors).toEqual([]);
  });

  test('the listener routes every call to the EDS cluster through RDS over ADS, and panic mode is off', () => {
    expect(trio.route).toMatchObject({ name: 'pexip-listener', virtual_hosts: [{ domains: ['*'], routes: [{ route: { cluster: 'pexip' } }] }] });
    expect(trio.cluster).toMatchObject({ type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, service_name: 'pexip' }, common_lb_config: { healthy_panic_threshold: { value: 0 } } });
  });
});

describe('the catalog', () => {
  const nodes = [verdict('px01', 'ready', { address: '10.0.1.1', weight: 40 }), verdict('px02', 'draining', { address: '10.0.1.2' }), verdict('px03', 'ready', { address: 'px03.example.com' })];
  const catalog = () => new ResourceCatalog(snapshotOf(nodes), { clusterName: 'pexip', proxyless: { listener: 'pexip' } });

  test('EDS carries REST\'s version and decodes to the same assignment', () => {
    const c = catalog();
    const response = c.response(TYPE_URLS.endpoint, ['pexip']);
    const rest = discoveryResponse([renderLoadAssignment('pexip', nodes).assignment]);
    expect(response.version).toBe(rest.version_info);
    expect(c.skipped).toEqual(['px03']);
    const decoded = decodeMessage<{ version_info: string; nonce: string; resources: { value: Uint8Array }[] }>('envoy.service.discovery.v3.DiscoveryResponse', withNonce(response, '42'));
    expect(decoded).toMatchObject({ version_info: rest.version_info, nonce: '42' });
    const assignment = decodeMessage<{ endpoints: { lb_endpoints: { endpoint: { hostname: string } }[] }[] }>('envoy.config.endpoint.v3.ClusterLoadAssignment', decoded.resources[0]!.value);
    expect(assignment.endpoints[0]!.lb_endpoints.map((lb) => lb.endpoint.hostname)).toEqual(['px01', 'px02']);
    expect([...response.endpointStates]).toEqual([['px01', 'HEALTHY 40'], ['px02', 'DRAINING']]);
  });

  test('the same subscription gets the same encoded response object; other names get an empty one', () => {
    const c = catalog();
    expect(c.response(TYPE_URLS.endpoint, ['pexip'])).toBe(c.response(TYPE_URLS.endpoint, ['pexip', 'pexip']));
    expect(c.response(TYPE_URLS.endpoint, ['elsewhere']).names).toEqual([]);
    expect(c.response(TYPE_URLS.listener, []).names).toEqual(['pexip']);
    expect(c.response('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', []).names).toEqual([]);
  });

  test('without proxyless, only EDS is served', () => {
    const c = new ResourceCatalog(snapshotOf(nodes), { clusterName: 'pexip' });
    expect(c.response(TYPE_URLS.listener, ['pexip']).names).toEqual([]);
    expect(c.response(TYPE_URLS.cluster, []).names).toEqual([]);
  });
});
