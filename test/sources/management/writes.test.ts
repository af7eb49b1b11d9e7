// Management Node writes against the simulator: PATCH maintenance, bounded retries with back-off, final answers, redacted details.

import { describe, expect, it, onTestFinished } from 'vitest';
import { ManagementWriter, redactDetail } from '../../../src/sources/management/writes.js';
import type { ManagementWriterOptions } from '../../../src/sources/management/writes.js';
import { PASSWORD, USER, startFleet } from './helpers.js';
import type { Simulator } from '../../../src/simulator/index.js';

function writer(sim: Simulator, options: Partial<ManagementWriterOptions> = {}, delays: number[] = []): ManagementWriter {
  const w = new ManagementWriter({
    url: sim.managementUrl as string,
    username: USER,
    password: PASSWORD,
    timeoutMs: 2000,
    // No real waiting: record the back-off delays instead.
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...options,
  });
  onTestFinished(() => w.destroy());
  return w;
}

describe('management writes', () => {
  it('puts a node in maintenance with the reason, and takes it out again', async () => {
    const sim = await startFleet();
    const w = writer(sim);
    const id = sim.node('px02')?.configurationId as number;
    expect(await w.setMaintenance(id, true, 'upgrade (drainwatch plan p1)')).toEqual({ ok: true, status: 202, attempts: 1 });
    expect(sim.node('px02')).toMatchObject({ phase: 'maintenance', reason: 'upgrade (drainwatch plan p1)' });
    expect(sim.managementWrites()[0]).toMatchObject({ method: 'PATCH', node: 'px02', body: { maintenance_mode: true, maintenance_mode_reason: 'upgrade (drainwatch plan p1)' } });
    expect((await w.setMaintenance(id, false, null)).ok).toBe(true);
    expect(sim.node('px02')?.phase).toBe('up');
    expect(sim.managementWrites()[1]?.body).toEqual({ maintenance_mode: false });
  });

  it('retries a 500 with doubling back-off, then gives up with the answer', async () => {
    const sim = await startFleet();
    sim.setManagementFaults({ write_status: 500 });
    const delays: number[] = [];
    const outcome = await writer(sim, { attempts: 3, backoffMs: 100 }, delays).setMaintenance(1, true, 'x');
    expect(outcome).toEqual({ ok: false, status: 500, kind: 'http', attempts: 3, detail: 'HTTP 500: {"error":"Simulated HTTP 500 fault"} (gave up after 3 attempts)' });
    expect(delays).toEqual([100, 200]);
    expect(sim.managementWrites().map((w) => w.status)).toEqual([500, 500, 500]);
    expect(sim.node('px01')?.phase).toBe('up');
  });

  it('succeeds on a retry once the Management Node recovers', async () => {
    const sim = await startFleet();
    sim.setManagementFaults({ write_status: 503 });
    const w = new ManagementWriter({
      url: sim.managementUrl as string, username: USER, password: PASSWORD, timeoutMs: 2000,
      sleep: async () => sim.clearManagementFaults(),
    });
    onTestFinished(() => w.destroy());
    expect(await w.setMaintenance(1, true, 'x')).toEqual({ ok: true, status: 202, attempts: 2 });
  });

  it('retries rejected credentials a bounded number of times and never shows the password', async () => {
    const sim = await startFleet();
    const outcome = await writer(sim, { password: 'wrong-secret', attempts: 2 }).setMaintenance(1, true, 'x');
    expect(outcome).toMatchObject({ ok: false, status: 401, kind: 'auth', attempts: 2 });
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.detail).toMatch(/^HTTP 401 \(check management.username/);
    expect(outcome.detail).not.toContain('wrong-secret');
    expect(sim.managementWrites()).toHaveLength(2);
  });

  it('does not retry an answer that cannot change (404 unknown id)', async () => {
    const sim = await startFleet();
    const outcome = await writer(sim).setMaintenance(99, true, 'x');
    expect(outcome).toMatchObject({ ok: false, status: 404, attempts: 1 });
    expect(sim.managementWrites()).toHaveLength(1);
  });

  it('times out an attempt that gets no answer', async () => {
    const sim = await startFleet();
    sim.setManagementFaults({ latency_ms: 5000 });
    const outcome = await writer(sim, { timeoutMs: 150, attempts: 2 }).setMaintenance(1, true, 'x');
    expect(outcome).toMatchObject({ ok: false, status: null, kind: 'timeout', attempts: 2, detail: 'no answer within 150ms (gave up after 2 attempts)' });
  });

  it('stops at once when aborted', async () => {
    const sim = await startFleet();
    const controller = new AbortController();
    controller.abort();
    expect(await writer(sim).setMaintenance(1, true, 'x', { signal: controller.signal })).toMatchObject({ ok: false, kind: 'aborted', attempts: 0 });
    expect(sim.managementRequests()).toBe(0);
  });

  it('redacts secrets and credential-looking fields from details', () => {
    expect(redactDetail('bad pw-123 here', ['pw-123'])).toBe('bad *** here');
    expect(redactDetail('{"password": "hunter2", "token":"abc"}', [])).toBe('{"password": "***", "token":"***"}');
    expect(redactDetail('line\r\nbreak', []).length).toBeLessThanOrEqual(160);
  });
});
