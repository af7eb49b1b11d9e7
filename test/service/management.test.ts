// drainwatch with a simulated Management Node: weights, stale data, bad answers, maintenance from the Management Node.

import { describe, expect, it, vi } from 'vitest';
import { waitFor } from '../helpers/service.js';

/** waitFor for checks that return a value or null. */
async function waitForValue<T>(check: () => Promise<T | null>, timeoutMs: number, everyMs: number, what: string): Promise<T> {
  return (await waitFor(check, timeoutMs, everyMs, what)) as T;
}
import { PASSWORD, USER, counterValue, nodeJson, recordingLogger, startFleet, startServiceAgainst } from '../sources/management/helpers.js';

describe('drainwatch with a Management Node', () => {
  it('weights follow media_load changes within one management interval', async () => {
    const sim = await startFleet();
    const { service, url } = await startServiceAgainst(sim);
    await waitFor(async () => (await nodeJson(url, 'px01'))?.load === 0, 15000, 25, 'first sweep');
    for (const [load, weight] of [[40, 60], [85, 15], [10, 90]] as const) {
      const sweepsBefore = service.managementStatus()?.sweeps ?? 0;
      sim.setLoad('px01', load);
      await waitFor(async () => (await nodeJson(url, 'px01'))?.weight === weight, 15000, 10, `weight ${weight}`);
      // One sweep may already be in flight with the old value; the next one carries the change.
      expect((service.managementStatus()?.sweeps ?? 0) - sweepsBefore).toBeLessThanOrEqual(2);
      expect((await nodeJson(url, 'px01'))?.load).toBe(load);
    }
    expect(await counterValue(service.metrics.managementPolls, { result: 'ok' })).toBeGreaterThan(3);
  });

  it('ramps the weight of a node that just emptied instead of giving it every new call at once', async () => {
    const sim = await startFleet();
    sim.setLoad('px01', 100);
    const { url } = await startServiceAgainst(sim, { policy: { weight_smoothing: '20s' } });
    await waitFor(async () => (await nodeJson(url, 'px01'))?.load === 100, 15000, 25, 'first sweep');
    sim.setLoad('px01', 0);
    await waitFor(async () => (await nodeJson(url, 'px01'))?.load === 0, 15000, 25, 'load 0 seen');
    const node = await nodeJson(url, 'px01');
    expect(node?.weight).toBeGreaterThanOrEqual(1);
    expect(node?.weight).toBeLessThanOrEqual(25); // 100 points per 20 s: at most a few seconds into the ramp
    // A rise is applied at once.
    sim.setLoad('px02', 70);
    await waitFor(async () => (await nodeJson(url, 'px02'))?.weight === 30, 15000, 25, 'px02 weight 30');
  });

  it('reports a 401 clearly and keeps the last data, marked stale', async () => {
    const sim = await startFleet();
    sim.setLoad('px02', 35);
    const logger = recordingLogger();
    const { service, url } = await startServiceAgainst(sim, { logger });
    await waitFor(async () => (await nodeJson(url, 'px02'))?.load === 35, 15000, 25, 'first sweep');
    const recorded = vi.spyOn(service.core, 'recordManagement');
    sim.setManagementFaults({ status: 401 });
    sim.setLoad('px02', 90);
    await waitFor(() => service.managementStatus()?.lastError?.code === 'DW_MANAGEMENT_AUTH', 15000, 10, 'auth failure');
    const status = service.managementStatus();
    expect(status?.stale).toBe(true);
    const error = logger.entries.find((entry) => entry.level === 'error' && entry.fields.code === 'DW_MANAGEMENT_AUTH');
    expect(error?.message).toContain(`user "${USER}"`);
    expect(error?.message).toContain(`${sim.managementUrl}/api/admin/status/v1/worker_vm/`);
    expect(error?.message).toContain('DW_TEST_MGMT_PASSWORD');
    expect(JSON.stringify(logger.entries)).not.toContain(PASSWORD);
    await waitFor(() => recorded.mock.calls.some(([name, observation]) => name === 'px02' && observation?.stale === true), 2000, 10, 'stale record');
    expect(recorded.mock.calls.find(([name, observation]) => name === 'px02' && observation?.stale)?.[1]).toMatchObject({ load: 35, stale: true });
    const node = await nodeJson(url, 'px02');
    expect(node).toMatchObject({ load: 35, weight: 65, state: 'ready' });
    expect(await counterValue(service.metrics.managementPolls, { result: 'auth' })).toBeGreaterThanOrEqual(1);
    // Fixed credentials (here: the fault cleared) bring fresh data back after the back-off.
    sim.clearManagementFaults();
    await waitFor(async () => (await nodeJson(url, 'px02'))?.load === 90, 8000, 25, 'fresh data after recovery');
    expect(service.managementStatus()?.stale).toBe(false);
  });

  it('reports a wrong password at startup without the password in any log line', async () => {
    const sim = await startFleet();
    const logger = recordingLogger();
    const { service, url } = await startServiceAgainst(sim, { logger, password: 'not-the-password' });
    await waitFor(() => service.managementStatus()?.lastError?.code === 'DW_MANAGEMENT_AUTH', 15000, 10, 'auth failure');
    expect(service.managementStatus()?.stale).toBe(false); // nothing good yet, so nothing to be stale
    expect(JSON.stringify(logger.entries)).not.toContain('not-the-password');
    await waitFor(async () => (await nodeJson(url, 'px01'))?.state === 'ready', 15000, 25, 'probes still work');
    expect((await nodeJson(url, 'px01'))?.load).toBeNull();
  });

  it('rejects malformed JSON and overwrites nothing', async () => {
    const sim = await startFleet();
    sim.setLoad('px03', 30);
    const { service, url } = await startServiceAgainst(sim, { discover: true });
    await waitFor(async () => (await nodeJson(url, 'px03'))?.load === 30, 15000, 25, 'first sweep');
    sim.setManagementFaults({ malformed_json: true });
    sim.setLoad('px03', 75);
    await sim.removeNode('px01');
    const failuresBefore = service.managementStatus()?.failures ?? 0;
    await waitFor(() => (service.managementStatus()?.failures ?? 0) >= failuresBefore + 2, 15000, 10, 'two failed sweeps');
    expect(service.managementStatus()?.lastError?.code).toBe('DW_MANAGEMENT_MALFORMED');
    expect((await nodeJson(url, 'px03'))?.load).toBe(30);
    expect(await nodeJson(url, 'px01')).not.toBeNull(); // the inventory is not touched either
    expect(await counterValue(service.metrics.managementPolls, { result: 'malformed' })).toBeGreaterThanOrEqual(2);
    sim.clearManagementFaults();
    await waitFor(async () => (await nodeJson(url, 'px03'))?.load === 75, 8000, 25, 'recovered');
    await waitFor(async () => (await nodeJson(url, 'px01')) === null, 15000, 25, 'px01 gone after recovery');
  });

  it('treats maintenance on the Management Node as draining, with its reason, even when the node answers 200', async () => {
    const sim = await startFleet();
    await sim.setPhase('px02', 'maintenance', 'Upgrade to v37');
    sim.setFaults('px02', { status: 200 }); // the node itself still says "available"
    sim.setCalls('px02', 4);
    const { url } = await startServiceAgainst(sim);
    const node = await waitForValue(async () => {
      const json = await nodeJson(url, 'px02');
      return json?.state === 'draining' && json.calls === 4 ? json : null;
    }, 15000, 25, 'px02 draining');
    expect(node.reason).toBe('Upgrade to v37');
    expect(node.maintenance).toBe(true);
    expect(node.drained_since).toBeNull();
    sim.setCalls('px02', 0);
    const drained = await waitForValue(async () => {
      const json = await nodeJson(url, 'px02');
      return json?.drained_since ? json : null;
    }, 15000, 25, 'px02 drained');
    expect(drained.calls).toBe(0);
  });

  it('exposes calls per node as drainwatch_node_calls', async () => {
    const sim = await startFleet();
    sim.setCalls('px01', 7);
    const { url } = await startServiceAgainst(sim);
    await waitFor(async () => (await nodeJson(url, 'px01'))?.calls === 7, 15000, 25, 'calls seen');
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/drainwatch_node_calls\{node="px01"\} 7/);
  });
});
