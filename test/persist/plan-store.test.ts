// The plan store: round-trips a plan through `<state.file>.plan.json`, starts empty without one, moves an unusable file aside.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPlan, recordWrite, stepPlan } from '../../src/core/maintenance-plan.js';
import { silentLogger } from '../../src/core/logger.js';
import { PlanStore, formatPlan, parsePlan, planFileFor } from '../../src/persist/plan-store.js';

const T0 = Date.UTC(2026, 11, 2, 4, 0, 0);

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-plan-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function samplePlan() {
  const plan = createPlan({ id: 'p1', nodes: [{ name: 'px01', configurationId: 1 }, { name: 'px02', configurationId: 2 }], reason: 'upgrade', spacingMs: 120_000, createdBy: 'alice', now: T0 });
  const nodes = new Map([['px01', { state: 'ready' as const, management: { maintenance: false, at: T0 }, probe: { maintenance: false, at: T0 }, calls: 2, drainedSince: null, capacity: 120 }]]);
  const entering = stepPlan(plan, { now: T0, nodes, entries: [], minReadyCapacity: 0 }).plan;
  return recordWrite(entering, 'px01', { ok: true, at: T0 + 250 }).plan;
}

describe('plan store', () => {
  it('keeps the plan next to the state file and reads back exactly what it wrote', async () => {
    const dir = scratch();
    const stateFile = join(dir, 'state.json');
    const store = new PlanStore({ stateFile, logger: silentLogger, clock: () => T0 });
    expect(store.path).toBe(`${stateFile}.plan.json`);
    expect(store.load()).toBeNull();
    const plan = samplePlan();
    expect(await store.save(plan)).toBe(true);
    expect(JSON.parse(readFileSync(`${stateFile}.plan.json`, 'utf8'))).toMatchObject({ format: 'drainwatch-maintenance-plan', version: 1, plan: { id: 'p1', spacing_ms: 120_000 } });
    expect(new PlanStore({ stateFile, logger: silentLogger }).load()).toEqual(plan);
  });

  it('moves an unusable file aside and starts without a plan', () => {
    const dir = scratch();
    const stateFile = join(dir, 'state.json');
    writeFileSync(planFileFor(stateFile) as string, '{"format": "something else"}');
    expect(new PlanStore({ stateFile, logger: silentLogger }).load()).toBeNull();
    expect(existsSync(`${stateFile}.plan.json.corrupt`)).toBe(true);
  });

  it('parses what it formats and refuses a bad node state with a sentence', () => {
    const plan = samplePlan();
    expect(parsePlan(formatPlan(plan, T0))).toEqual(plan);
    expect(parsePlan(formatPlan(null, T0))).toBeNull();
    const broken = formatPlan(plan, T0).replace('"entering"', '"sideways"');
    expect(() => parsePlan(broken)).toThrow('plan.nodes[0].state must be one of queued, entering, draining, drained, failed');
    expect(planFileFor(null)).toBeNull();
  });
});
