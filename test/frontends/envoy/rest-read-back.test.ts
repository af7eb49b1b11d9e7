// Envoy REST EDS read back through a running drainwatch: a client that stops advancing is diverged, one that stops polling unreachable.

import { describe, expect, it, onTestFinished } from 'vitest';
import { startTestService, waitFor } from '../../helpers/service.js';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE } from '../../../src/frontends/envoy/eds-format.js';
import type { LoadBalancerJson } from '../../../src/operator/api/loadbalancers.js';

const REFRESH_MS = 100;

async function rig() {
  const dw = await startTestService({
    nodes: [{ name: 'px01', address: '127.0.0.1', port: 9, status_url: 'http://127.0.0.1:9/api/client/v2/status' }],
    probe: { interval: '200ms', timeout: '100ms', fall: 1, rise: 1 },
    envoy: { refresh_delay: `${REFRESH_MS}ms` },
  });
  onTestFinished(() => dw.close());
  /** One REST poll as Envoy sends it; returns the version drainwatch answered with. */
  const poll = async (nodeId: string | null, versionInfo: string): Promise<string> => {
    const body = { version_info: versionInfo, ...(nodeId === null ? {} : { node: { id: nodeId, cluster: 'edge' } }), resource_names: ['pexip'], type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE };
    const response = await fetch(`${dw.url}/v3/discovery:endpoints`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const version = response.headers.get('x-drainwatch-version') ?? '';
    await response.body?.cancel();
    return version;
  };
  const target = async (id: string): Promise<LoadBalancerJson | undefined> => {
    const body = (await (await fetch(`${dw.url}/api/v1/loadbalancers`)).json()) as { loadbalancers: LoadBalancerJson[] };
    return body.loadbalancers.find((each) => each.id === id);
  };
  const node = async () => (await (await fetch(`${dw.url}/api/v1/nodes/px01`)).json()) as { applied: Record<string, string> };
  return { dw, poll, target, node };
}

describe('Envoy REST EDS read-back', () => {
  it('shows a client in sync, then diverged when its version stops advancing after a change', async () => {
    const r = await rig();
    const id = 'envoy-rest:edge-1/pexip';
    let version = await r.poll('edge-1', '');
    version = await r.poll('edge-1', version);
    await waitFor(async () => (await r.target(id))?.status === 'in_sync', 5000, 20, 'in sync');
    expect((await r.node()).applied[id]).toBe('in_sync');
    const old = version;
    // An operator drain: a new version; the client keeps sending the old one.
    r.dw.service.core.setOverride('px01', { state: 'drain', reason: 'test', by: 'test', setAt: Date.now(), expiresAt: null });
    await waitFor(async () => (await r.poll('edge-1', old)) !== old, 5000, 20, 'a new version');
    expect((await r.target(id))?.status).toBe('converging');
    await r.poll('edge-1', old);
    await r.poll('edge-1', old);
    await r.poll('edge-1', old);
    const stuck = await r.target(id);
    expect(stuck?.status).toBe('diverged');
    expect(stuck?.nodes[0]?.reason).toMatch(/^Envoy stayed at version \w+ for 3 polls after \w+ was sent/);
    expect((await r.node()).applied[id]).toBe('diverged');
  });

  it('calls a client that stops polling unreachable after 3 times its cadence, and a request without node.id a clear reason', async () => {
    const r = await rig();
    const version = await r.poll('edge-2', '');
    await r.poll('edge-2', version);
    const id = 'envoy-rest:edge-2/pexip';
    await waitFor(async () => (await r.target(id))?.status === 'unreachable', 3 * 2 * REFRESH_MS + 3000, 50, 'unreachable after polls stop');
    expect((await r.target(id))?.reason).toMatch(/^no read-back for/);
    await r.poll(null, version);
    expect((await r.target('envoy-rest:-/pexip'))?.reason).toMatch(/without node.id/);
  });
});
