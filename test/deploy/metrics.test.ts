// A real /metrics scrape of a running drainwatch passes `promtool check metrics` and carries build info and state-since.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { packageVersion } from '../../src/config/version.js';
import { Metrics } from '../../src/operator/metrics/registry.js';
import { requires, toolPath } from '../helpers/requires.js';
import { startSimulator, watch } from '../operator/fleet.js';

const SUITE = '/metrics under promtool check metrics';

async function scrape(): Promise<string> {
  const sim = await startSimulator(3, { management: true });
  const svc = await watch(sim, { service: { metrics: new Metrics() } });
  const response = await fetch(`${svc.url}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

function promtoolCheck(text: string): { status: number | null; output: string } {
  const result = spawnSync(toolPath('promtool') ?? 'promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

describe('the /metrics families an operator builds on', () => {
  it('say which version runs and since when each node is in its state', async () => {
    const text = await scrape();
    expect(text).toContain(`drainwatch_build_info{version="${packageVersion()}",node_version="${process.version}"} 1`);
    const since = [...text.matchAll(/^drainwatch_node_state_since_timestamp_seconds\{node="(px\d+)",state="(\w+)"\} (\S+)$/gm)];
    expect(since.map((match) => match[1]).sort()).toEqual(['px01', 'px02', 'px03']);
    for (const match of since) expect(Number(match[3]) * 1000).toBeLessThanOrEqual(Date.now());
    expect(text).not.toMatch(/^drainwatch_nodejs_active_handles_total /m);
  });
});

describe.runIf(requires(SUITE, ['promtool']))(SUITE, () => {
  it('passes promtool check metrics with nothing to say', async () => {
    expect(promtoolCheck(await scrape())).toEqual({ status: 0, output: '' });
  });

  it('would fail on a gauge named like a counter, so the pass means something', () => {
    const bad = '# HELP x_total a gauge\n# TYPE x_total gauge\nx_total 1\n';
    const result = promtoolCheck(bad);
    expect(result.output).toContain('non-counter metrics should not have "_total" suffix');
  });
});
