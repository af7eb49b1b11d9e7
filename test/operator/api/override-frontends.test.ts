// An operator override reaches every load-balancer dialect: HAProxy agent, Envoy health and EDS, NGINX; across restarts; until expiry.

import { mkdtempSync, rmSync } from 'node:fs';
import { askAgent } from '../../helpers/agent.js';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createAdminApi } from '../../../src/operator/api/nodes.js';
import { createOverrideApi } from '../../../src/operator/api/overrides.js';
import { createHaproxyAgent } from '../../../src/frontends/haproxy/agent-server.js';
import { createEnvoyHealth } from '../../../src/frontends/envoy/health-routes.js';
import { createEnvoyEds } from '../../../src/frontends/envoy/eds-routes.js';
import { createNginxFrontend } from '../../../src/frontends/nginx/index.js';
import { waitFor } from '../../helpers/service.js';
import { nodeState, override, startSimulator, watch } from '../fleet.js';
import type { Simulator } from '../../../src/simulator/index.js';
import type { FrontendFactory } from '../../../src/service/service.js';
import type { HaproxyAgentFrontend } from '../../../src/frontends/haproxy/agent-server.js';
import type { TestService } from '../../helpers/service.js';

type Outputs = { verdict: string; agent: string; health: number; immediateFail: string | null; eds: string | undefined; nginx: string };

/** What every front-end says about one node right now. */
async function outputs(svc: TestService, agentPort: number, sim: Simulator, name: string): Promise<Outputs> {
  const node = sim.node(name);
  if (!node) throw new Error(`${name} missing`);
  const health = await fetch(`${svc.url}/envoy/health/${name}`);
  await health.arrayBuffer();
  const eds = (await (
    await fetch(`${svc.url}/v3/discovery:endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ node: { id: 'test', cluster: 'test' }, resource_names: ['pexip'], type_url: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment' }),
    })
  ).json()) as { resources: Array<{ endpoints: Array<{ lb_endpoints: Array<{ health_status: string; endpoint: { address: { socket_address: { port_value: number } } } }> }> }> };
  const endpoint = eds.resources[0]?.endpoints.flatMap((group) => group.lb_endpoints).find((lb) => lb.endpoint.address.socket_address.port_value === node.port);
  const nginx = await (await fetch(`${svc.url}/nginx/pexip.conf`)).text();
  const line = nginx.split('\n').find((text) => text.includes(`:${node.port} `) || text.includes(`:${node.port};`)) ?? '';
  return {
    verdict: (await nodeState(svc.url, name)).state,
    agent: await askAgent(agentPort, name),
    health: health.status,
    immediateFail: health.headers.get('x-envoy-immediate-health-check-fail'),
    eds: endpoint?.health_status,
    nginx: line.trim(),
  };
}

async function start(sim: Simulator, stateFile: string): Promise<{ svc: TestService; agentPort: number }> {
  let agent: HaproxyAgentFrontend | undefined;
  const frontends: FrontendFactory[] = [
    createAdminApi,
    createOverrideApi,
    (context) => (agent = createHaproxyAgent(context)),
    createEnvoyHealth,
    createEnvoyEds,
    createNginxFrontend,
  ];
  const svc = await watch(sim, {
    config: {
      state: { file: stateFile },
      haproxy: { agent: { listen: '127.0.0.1:0' } },
      nginx: { upstreams: [{ name: 'pexip', file: 'pexip-upstream.conf', test_command: ['true'], reload_command: ['true'], settle: '0s', min_reload_interval: '0s' }] },
    },
    service: { frontends },
  });
  const port = agent?.address()?.port;
  if (!port) throw new Error('agent did not bind');
  return { svc, agentPort: port };
}

describe('an override seen by every load balancer', () => {
  it('changes the verdict, the agent reply, Envoy health and EDS status and the NGINX line; survives a restart; ends at expiry', async () => {
    const sim = await startSimulator(3);
    const node = sim.node('px02');
    if (!node) throw new Error('px02 missing');
    const dir = mkdtempSync(join(tmpdir(), 'drainwatch-override-fe-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'overrides.json');

    const first = await start(sim, stateFile);
    const ready = await waitFor(async () => {
      const got = await outputs(first.svc, first.agentPort, sim, 'px02');
      return got.nginx.includes('weight=') ? got : null;
    }, 10_000, 50, 'the first NGINX rendering') as Outputs;
    expect(ready).toMatchObject({ verdict: 'ready', agent: 'up ready 100%\n', health: 200, immediateFail: null, eds: 'HEALTHY' });
    expect(ready.nginx).toMatch(new RegExp(`^server 127\\.0\\.0\\.1:${node.port} weight=100;`));

    // drain: no new sessions, sticky ones continue.
    const drain = await override(first.svc.url, 'px02', 'PUT', { state: 'drain', reason: 'swap disk', expires_in: '2h' });
    expect(drain.status).toBe(200);
    const drained = await waitFor(async () => {
      const got = await outputs(first.svc, first.agentPort, sim, 'px02');
      return got.nginx.includes('down;') ? got : null;
    }, 10_000, 50, 'NGINX to render px02 down') as Outputs;
    expect(drained).toMatchObject({ verdict: 'draining', agent: 'up drain #operator override: swap disk\n', health: 503, immediateFail: 'true', eds: 'DRAINING' });
    expect(drained.nginx).toMatch(new RegExp(`^server 127\\.0\\.0\\.1:${node.port} down; # .*swap disk`));

    // maint: no sessions at all.
    await override(first.svc.url, 'px02', 'PUT', { state: 'maint', reason: 'pull the node', expires_in: '2h' });
    const maint = await outputs(first.svc, first.agentPort, sim, 'px02');
    expect(maint).toMatchObject({ verdict: 'maint', agent: 'up maint #operator override: pull the node\n', health: 503, eds: 'UNHEALTHY' });
    // The neighbours are untouched.
    expect(await outputs(first.svc, first.agentPort, sim, 'px01')).toMatchObject({ verdict: 'ready', agent: 'up ready 100%\n', eds: 'HEALTHY' });

    // Restart with the same state.file: still in force from the first answer on.
    await first.svc.close();
    const second = await start(sim, stateFile);
    const restarted = await outputs(second.svc, second.agentPort, sim, 'px02');
    expect(restarted).toMatchObject({ verdict: 'maint', agent: 'up maint #operator override: pull the node\n', health: 503, eds: 'UNHEALTHY' });
    expect(restarted.nginx).toMatch(/ down; # /);

    // Replace it with a short one and let it expire: every output returns to the probed verdict.
    const brief = await override(second.svc.url, 'px02', 'PUT', { state: 'drain', reason: 'brief', expires_in: '2s' });
    expect(brief.json).toMatchObject({ node: { state: 'draining', override: { state: 'drain', reason: 'brief' } } });
    const expired = await waitFor(async () => {
      const got = await outputs(second.svc, second.agentPort, sim, 'px02');
      // The outputs are read one after another, so wait until every one of them has moved on.
      const moved = got.verdict === 'ready' && got.nginx.includes('weight=') && got.eds === 'HEALTHY' && got.health === 200 && got.agent.startsWith('up ready');
      return moved ? got : null;
    }, 15_000, 100, 'the override to expire everywhere') as Outputs;
    expect(expired).toMatchObject({ agent: 'up ready 100%\n', health: 200, immediateFail: null, eds: 'HEALTHY' });
    // The core forgets the expired override on its next tick (the verdict already ignores it).
    await waitFor(async () => (await nodeState(second.svc.url, 'px02')).override === null, 3000, 50, 'the expired override to be forgotten');
  });
});
