// Integration: a real Service probing simulated nodes; maintenance shows as DRAINING in the next EDS poll and 503 at once.

import { get as httpGet } from 'node:http';
import { beforeAll, expect, onTestFinished, test } from 'vitest';
import { Simulator } from '../../../src/simulator/index.js';
import { startTestService, waitFor } from '../../helpers/service.js';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE } from '../../../src/frontends/envoy/eds-format.js';
import { loadEnvoyValidator } from './proto-validator.js';
import { expectValidResponse } from './eds-assert.js';
import type { DiscoveryResponseJson } from '../../../src/frontends/envoy/eds-format.js';
import type { Snapshot } from '../../../src/core/snapshot.js';
import type { ProtoValidator } from './proto-validator.js';

let validator: ProtoValidator;
beforeAll(async () => {
  validator = await loadEnvoyValidator();
});

type Poll = { status: number; body: DiscoveryResponseJson | null };
type Check = { status: number; immediate: string | null; text: string };

async function startFleet() {
  const sim = await Simulator.start({ nodes: 3, management: false });
  onTestFinished(() => sim.close());
  const nodes = sim.nodes().map((node) => ({ name: node.name, address: node.address, port: node.port, status_url: node.statusUrl }));
  const running = await startTestService({ nodes, probe: { interval: '200ms', timeout: '180ms', jitter: 0, rise: 2, fall: 3, max_age: '5s' } });
  onTestFinished(() => running.close());
  const eds = async (versionInfo: string): Promise<Poll> => {
    const response = await fetch(`${running.url}/v3/discovery:endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version_info: versionInfo, node: { id: 'envoy-test' }, resource_names: ['pexip'], type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE }),
    });
    const text = await response.text();
    return { status: response.status, body: response.status === 200 ? (JSON.parse(text) as DiscoveryResponseJson) : null };
  };
  const health = async (name: string): Promise<Check> => {
    // Envoy sends the node name as Host (health_check_config.hostname); the port suffix is ignored.
    // fetch() may not set Host, so this goes through node:http like Envoy's checker would.
    const { port } = new URL(running.url);
    return new Promise<Check>((resolve, reject) => {
      const req = httpGet({ host: '127.0.0.1', port: Number(port), path: '/envoy/health', headers: { host: `${name}:${port}` }, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, immediate: (res.headers['x-envoy-immediate-health-check-fail'] as string | undefined) ?? null, text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(5000, () => req.destroy(new Error('health request timed out')));
    });
  };
  return { sim, service: running.service, eds, health };
}

const statusOf = (body: DiscoveryResponseJson, name: string) =>
  body.resources[0]?.endpoints[0]?.lb_endpoints.find((lb) => lb.endpoint.hostname === name)?.health_status;

test('a node put into maintenance turns DRAINING in the next EDS response after the probe sees it, and its health answer flips at the same moment', async () => {
  const { sim, service, eds, health } = await startFleet();

  // Steady state: every node HEALTHY with weight 100, every health answer 200.
  const ready = await waitFor(async () => {
    const poll = await eds('');
    return poll.body && ['px01', 'px02', 'px03'].every((name) => statusOf(poll.body!, name) === 'HEALTHY') ? poll.body : null;
  }, 10_000, 50, 'all nodes HEALTHY in EDS');
  expectValidResponse(validator, ready);
  expect((await health('px02')).status).toBe(200);
  expect((await eds(ready.version_info)).status).toBe(304);

  // React to the very snapshot in which the probe's 503 lands: poll EDS and the health endpoint right then.
  const seen = new Promise<{ snapshot: Snapshot; poll: Poll; check: Check }>((resolve, reject) => {
    const stop = service.core.onChange((snapshot) => {
      if (snapshot.get('px02')?.state !== 'draining') return;
      stop();
      Promise.all([eds(ready.version_info), health('px02')]).then(([poll, check]) => resolve({ snapshot, poll, check }), reject);
    });
    onTestFinished(() => void stop());
  });
  const probesBefore = sim.probeRequests('px02');
  await sim.setPhase('px02', 'maintenance', 'Software upgrade');
  const { snapshot, poll, check } = await Promise.race([
    seen,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('px02 never turned draining')), 10_000)),
  ]);

  expect(sim.probeRequests('px02')).toBeGreaterThan(probesBefore);
  expect(snapshot.get('px02')?.reason).toMatch(/maintenance|upgrade/i);
  expect(poll.status).toBe(200);
  expectValidResponse(validator, poll.body);
  expect(poll.body!.version_info).not.toBe(ready.version_info);
  expect(statusOf(poll.body!, 'px02')).toBe('DRAINING');
  expect(statusOf(poll.body!, 'px01')).toBe('HEALTHY');
  expect(statusOf(poll.body!, 'px03')).toBe('HEALTHY');
  expect(check).toMatchObject({ status: 503, immediate: 'true' });
  expect(check.text).toMatch(/^px02 draining: /);

  // And back: out of maintenance, `rise` successes later both answers return together.
  await sim.setPhase('px02', 'up');
  await waitFor(async () => (await health('px02')).status === 200, 10_000, 50, 'px02 healthy again');
  const after = await eds(poll.body!.version_info);
  expect(after.status).toBe(200);
  expect(statusOf(after.body!, 'px02')).toBe('HEALTHY');
  expect(after.body!.version_info).toBe(ready.version_info);
});

test('EDS and the health endpoint never disagree while a node goes into maintenance', async () => {
  const { sim, service, eds, health } = await startFleet();
  await waitFor(async () => (await health('px03')).status === 200, 10_000, 50, 'px03 ready');
  await sim.setPhase('px03', 'maintenance');
  let pairs = 0;
  let drained = false;
  const deadline = Date.now() + 10_000;
  while (!drained && Date.now() < deadline) {
    const before = service.core.snapshot().version;
    const [poll, check] = await Promise.all([eds(''), health('px03')]);
    if (service.core.snapshot().version !== before) continue; // a change landed mid-pair: not comparable
    pairs += 1;
    const status = statusOf(poll.body!, 'px03');
    expect([status, check.status]).toEqual(status === 'DRAINING' ? ['DRAINING', 503] : ['HEALTHY', 200]);
    drained = status === 'DRAINING';
  }
  expect(drained).toBe(true);
  expect(pairs).toBeGreaterThan(0);
});
