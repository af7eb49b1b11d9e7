// Demo scenario: a rolling upgrade takes one node through maintenance, reboot and boot, and loads drift.

import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { startScenario } from '../../src/simulator/index.js';
import type { ScenarioEvent } from '../../src/simulator/index.js';
import { failure, get, startSim, statusUrl } from './helpers.js';

describe('scenario', () => {
  it('drives one node through maintenance, rebooting, booting and back up, one at a time', async () => {
    const sim = await startSim({ nodes: 3 });
    const scenario = startScenario(sim, {
      tickMs: 20,
      // Phases long enough for the checks below to land inside them on a busy machine.
      upgradeAfterMs: 50,
      maintenanceMs: 1000,
      rebootMs: 800,
      bootMs: 200,
      pauseMs: 60_000,
      random: () => 0.5,
    });
    onTestFinished(() => scenario.stop());

    const events: ScenarioEvent[] = [];
    const checks: Promise<unknown>[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; events: ${events.map((e) => e.message).join(' | ')}`)), 20_000);
      scenario.on('event', (event) => {
        events.push(event);
        if (event.type !== 'phase') return;
        // What a prober would see right after each step.
        if (event.phase === 'maintenance') checks.push(get(statusUrl(sim, event.node)).then((r) => r.status));
        if (event.phase === 'rebooting') checks.push(failure(statusUrl(sim, event.node)).then((e) => e.code));
        if (event.phase === 'up') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await done;

    const phases = events.filter((e) => e.type === 'phase');
    expect(phases.map((e) => [e.node, e.phase])).toEqual([
      ['px01', 'maintenance'],
      ['px01', 'rebooting'],
      ['px01', 'booting'],
      ['px01', 'up'],
    ]);
    expect(phases[0]?.message).toMatch(/px01 enters maintenance \(Software upgrade to 36\.1\)/);
    expect(await Promise.all(checks)).toEqual([503, 'ECONNREFUSED']);
    expect(sim.nodes().map((n) => n.phase)).toEqual(['up', 'up', 'up']);
    expect(sim.node('px01')?.calls).toBe(0);
    // Loads were seeded and keep to 5..95; calls follow load.
    for (const node of sim.nodes()) {
      expect(node.load).toBeGreaterThanOrEqual(5);
      expect(node.load).toBeLessThanOrEqual(95);
    }
    expect(sim.node('px02')?.calls).toBe(Math.round(((sim.node('px02')?.load ?? 0) / 100) * 40));
  });

  it('stops every timer on stop()', async () => {
    const sim = await startSim({ nodes: 2 });
    const scenario = startScenario(sim, { tickMs: 10, upgradeAfterMs: 30, maintenanceMs: 1000 });
    onTestFinished(() => scenario.stop());
    await vi.waitFor(() => expect(sim.node('px01')?.phase).toBe('maintenance'), { timeout: 10_000 });
    scenario.stop();
    const loads = sim.nodes().map((n) => n.load);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sim.nodes().map((n) => n.load)).toEqual(loads);
    expect(scenario.stopped).toBe(true);
  });
});
