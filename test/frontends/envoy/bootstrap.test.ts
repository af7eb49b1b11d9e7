// The committed Envoy bootstrap examples parse strictly as envoy.config.bootstrap.v3.Bootstrap, and the validator can fail.

import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { envoyBootstrapChecks, loadEnvoyValidator } from './proto-validator.js';
import type { ProtoValidator } from './proto-validator.js';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const EXAMPLES = ['envoy/eds-bootstrap.yaml', 'envoy/health-check-bootstrap.yaml', 'envoy/ads-bootstrap.yaml'];
const read = (file: string) => readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');

let validator: ProtoValidator;
beforeAll(async () => {
  validator = await loadEnvoyValidator();
});

/** The EDS example with one text substitution applied (the substitution must match). */
function edsExampleWith(from: string | RegExp, to: string): unknown {
  const text = read('envoy/eds-bootstrap.yaml');
  const changed = text.replace(from, to);
  expect(changed, `substitution ${String(from)} must change the example`).not.toBe(text);
  return parse(changed);
}

const errorsOf = (json: unknown) => [...validator.validate(BOOTSTRAP, json).errors, ...envoyBootstrapChecks(json)];

describe('the committed bootstrap examples', () => {
  test.each(EXAMPLES)('%s parses strictly as a v3 Bootstrap with no deprecated fields', (file) => {
    const json = parse(read(file));
    const result = validator.validate(BOOTSTRAP, json);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(envoyBootstrapChecks(json)).toEqual([]);
  });

  test('the EDS example polls drainwatch over REST with a panic threshold of 0 and DRAINING sticky sessions', () => {
    const json = parse(read('envoy/eds-bootstrap.yaml'));
    const clusters = json.static_resources.clusters as Record<string, any>[];
    const pexip = clusters.find((cluster) => cluster.name === 'pexip')!;
    const source = pexip.eds_cluster_config.eds_config;
    expect(source.api_config_source.api_type).toBe('REST');
    expect(source.initial_fetch_timeout).toMatch(/s$/);
    expect(pexip.eds_cluster_config.service_name).toBe('pexip');
    expect(pexip.common_lb_config.healthy_panic_threshold).toEqual({ value: 0 });
    expect(pexip.common_lb_config.override_host_status.statuses).toContain('DRAINING');
    const drainwatch = clusters.find((cluster) => cluster.name === source.api_config_source.cluster_names[0])!;
    expect(drainwatch.load_assignment.endpoints[0].lb_endpoints.length).toBeGreaterThanOrEqual(2);
  });

  test('the ADS example takes EDS over a gRPC ADS stream to drainwatch over HTTP/2, with a panic threshold of 0', () => {
    const json = parse(read('envoy/ads-bootstrap.yaml'));
    const ads = json.dynamic_resources.ads_config;
    expect(ads.api_type).toBe('GRPC');
    const clusters = json.static_resources.clusters as Record<string, any>[];
    const pexip = clusters.find((cluster) => cluster.name === 'pexip')!;
    expect(pexip.eds_cluster_config.eds_config.ads).toEqual({});
    expect(pexip.eds_cluster_config.service_name).toBe('pexip');
    expect(pexip.common_lb_config.healthy_panic_threshold).toEqual({ value: 0 });
    expect(pexip.common_lb_config.override_host_status.statuses).toContain('DRAINING');
    const xds = clusters.find((cluster) => cluster.name === ads.grpc_services[0].envoy_grpc.cluster_name)!;
    expect(xds.type).toBe('STATIC');
    expect(xds.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config.http2_protocol_options).toBeDefined();
  });

  test('the ADS example fails the check without HTTP/2 options spelled right', () => {
    const text = read('envoy/ads-bootstrap.yaml');
    const changed = text.replace('http2_protocol_options:', 'http2_protocol_option:');
    expect(changed).not.toBe(text);
    expect(errorsOf(parse(changed))).toEqual([
      expect.stringMatching(/http2_protocol_option: unknown field/),
      expect.stringMatching(/explicit_http_config: one of .*http2_protocol_options.* is required/),
    ]);
  });

  test('the health-check example sends every check to drainwatch with the node name and retries the unknown status', async () => {
    const { ENVOY_HEALTH_PATH } = await import('../../../src/frontends/envoy/health-routes.js');
    const { UNKNOWN_STATUS } = await import('../../../src/frontends/envoy/health-answer.js');
    const json = parse(read('envoy/health-check-bootstrap.yaml'));
    const cluster = json.static_resources.clusters[0];
    const check = cluster.health_checks[0];
    expect(check.http_health_check.path).toBe(ENVOY_HEALTH_PATH);
    const retriable = check.http_health_check.retriable_statuses as { start: number; end: number }[];
    expect(retriable.some((range) => range.start <= UNKNOWN_STATUS && UNKNOWN_STATUS < range.end)).toBe(true);
    expect(check.no_traffic_interval).toBe('1s');
    expect(cluster.common_lb_config.healthy_panic_threshold).toEqual({ value: 0 });
    for (const lb of cluster.load_assignment.endpoints[0].lb_endpoints) {
      expect(lb.endpoint.health_check_config.hostname).toBe(lb.endpoint.hostname);
      expect(lb.endpoint.health_check_config.address.socket_address.port_value).toBe(9555);
    }
  });
});

describe('the strict validator', () => {
  test('fails on a misspelled field and names the field it meant', () => {
    const errors = errorsOf(edsExampleWith('connect_timeout: 2s', 'conect_timeout: 2s'));
    expect(errors).toEqual([expect.stringMatching(/clusters\[0\]\.conect_timeout: unknown field .*did you mean "connect_timeout"/)]);
  });

  test('fails on a misspelled field inside an Any (the embedded message is validated too)', () => {
    const errors = errorsOf(edsExampleWith('stat_prefix: pexip', 'stat_prefx: pexip'));
    expect(errors).toEqual([
      expect.stringMatching(/typed_config\.stat_prefx: unknown field .*HttpConnectionManager/),
      expect.stringMatching(/typed_config\.stat_prefix: must be at least 1 character/),
    ]);
  });

  test('fails on an Any whose type URL names no known message', () => {
    const errors = errorsOf(edsExampleWith('filters.http.router.v3.Router', 'filters.http.router.v3.Routr'));
    expect(errors).toEqual([expect.stringMatching(/unknown message type "envoy\.extensions\.filters\.http\.router\.v3\.Routr"/)]);
  });

  test('fails on an Any without a type URL', () => {
    const errors = errorsOf(edsExampleWith(/"@type": type\.googleapis\.com\/envoy\.extensions\.filters\.http\.router\.v3\.Router/, 'dummy: 1'));
    expect(errors).toEqual([expect.stringMatching(/"@type" must be a type URL/)]);
  });

  test.each([
    ['a number', 'refresh_delay: 1'],
    ['a unit other than seconds', 'refresh_delay: 1m'],
    ['a space before the unit', 'refresh_delay: "1 s"'],
    ['more than nine fractional digits', 'refresh_delay: 0.1234567891s'],
  ])('fails on a duration written as %s', (_what, replacement) => {
    const errors = errorsOf(edsExampleWith('refresh_delay: 1s', replacement));
    expect(errors).toEqual([expect.stringMatching(/refresh_delay: must be a duration string/)]);
  });

  test('fails on wrong types: a string for a port, a list for an object, a number for a string', () => {
    expect(errorsOf(edsExampleWith('port_value: 443', 'port_value: https'))).toEqual([expect.stringMatching(/port_value: must be an integer/)]);
    expect(errorsOf(edsExampleWith('stat_prefix: pexip', 'stat_prefix: [pexip]'))).toEqual([expect.stringMatching(/stat_prefix: must be a string, got a list/)]);
    expect(errorsOf(edsExampleWith('path: /readyz', 'path: 42'))).toEqual([expect.stringMatching(/path: must be a string, got number/)]);
  });

  test('fails on an unknown enum name', () => {
    expect(errorsOf(edsExampleWith('lb_policy: LEAST_REQUEST', 'lb_policy: LEAST_REQUESTS'))).toEqual([expect.stringMatching(/lb_policy: "LEAST_REQUESTS" is not a/)]);
  });

  test('applies Envoy\'s rules: intervals and timeouts > 0, thresholds present, ports <= 65535, weights >= 1', () => {
    expect(errorsOf(edsExampleWith('interval: 2s', 'interval: 0s'))).toEqual([expect.stringMatching(/health_checks\[0\]\.interval: must be longer than 0s/)]);
    expect(errorsOf(edsExampleWith('connect_timeout: 2s', 'connect_timeout: 0s'))).toEqual([expect.stringMatching(/connect_timeout: must be longer than 0s/)]);
    expect(errorsOf(edsExampleWith(/\n\s+unhealthy_threshold: 2/, ''))).toEqual([expect.stringMatching(/health_checks\[0\]\.unhealthy_threshold: is required/)]);
    expect(errorsOf(edsExampleWith('port_value: 9555', 'port_value: 95550'))).toEqual([expect.stringMatching(/port_value: must be <= 65535/)]);
    expect(errorsOf(edsExampleWith('              - endpoint:\n                  address:\n                    socket_address: { address: 10.0.0.5', '              - load_balancing_weight: 0\n                endpoint:\n                  address:\n                    socket_address: { address: 10.0.0.5'))).toEqual([
      expect.stringMatching(/load_balancing_weight: must be >= 1/),
    ]);
  });

  test('applies Envoy\'s load-time rules: REST takes one STATIC cluster, endpoints are IPs, status ranges are [100, 600)', () => {
    expect(errorsOf(edsExampleWith('cluster_names: [drainwatch]', 'cluster_names: [drainwatch, drainwatch2]'))).toEqual([
      expect.stringMatching(/REST needs exactly one cluster/),
      expect.stringMatching(/"drainwatch2", which is not a static cluster/),
    ]);
    expect(errorsOf(edsExampleWith('address: 10.0.0.5', 'address: drainwatch-a.example.com'))).toEqual([expect.stringMatching(/needs an IP address/)]);
    const text = read('envoy/health-check-bootstrap.yaml').replace('{ start: 504, end: 505 }', '{ start: 504, end: 504 }');
    expect(envoyBootstrapChecks(parse(text))).toEqual([expect.stringMatching(/retriable_statuses\[0\]: needs 100 <= start < end <= 600/)]);
  });

  test('fails when two members of a oneof are set', () => {
    const errors = errorsOf(edsExampleWith('match: { prefix: "/" }', 'match: { prefix: "/", path: "/x" }'));
    expect(errors).toEqual([expect.stringMatching(/only one of prefix, path may be set/)]);
  });
});
