// The dashboard right after load: nodes from the first fetch (even with no event stream), time in state, calls lines.

import { describe, expect, it } from 'vitest';
import { launchChromium } from '../../helpers/chromium.js';
import { waitFor } from '../../helpers/service.js';
import { requires } from '../../helpers/requires.js';
import { startSimulator, watch } from '../fleet.js';

const SUITE = 'dashboard first paint in headless Chromium';
const present = requires(SUITE, ['chromium']);
// Set DRAINWATCH_SCREENSHOT=/path.png to keep a picture of the page as loaded.
const SCREENSHOT = process.env.DRAINWATCH_SCREENSHOT;

type NodeJson = { name: string; state: string; calls: number | null };

describe.runIf(present)(SUITE, () => {
  it('shows every node, how long each is in its state, the falling calls of a draining node and what the load balancer holds, without the event stream', async () => {
    const sim = await startSimulator(4, { management: true });
    for (const [name, calls] of [['px01', 12], ['px02', 21], ['px03', 5], ['px04', 0]] as const) sim.setCalls(name, calls);
    // One NGINX target (stand-in commands), so the Applied column has something to say.
    const nginx = { upstreams: [{ name: 'pexip', file: 'pexip-upstream.conf', test_command: ['true'], reload_command: ['true'], settle: '0s', min_reload_interval: '0s', read_interval: '200ms' }] };
    const svc = await watch(sim, { config: { management: { url: sim.managementUrl, interval: '300ms' }, nginx } });
    const node = async (name: string) => (await (await fetch(`${svc.url}/api/v1/nodes/${name}`)).json()) as NodeJson;
    await sim.setPhase('px02', 'maintenance', 'Software upgrade');
    // The calls fall while px02 drains; each count is seen by a sweep before the next.
    for (const calls of [21, 14, 8]) {
      sim.setCalls('px02', calls);
      await waitFor(async () => { const n = await node('px02'); return n.state === 'draining' && n.calls === calls; }, 10_000, 50, `px02 draining with ${calls} calls`);
    }

    const context = await launchChromium({ viewport: { width: 1360, height: 520 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    // No event stream at all: the first paint must come from the page's own first fetch.
    await page.route('**/api/v1/events', (route) => route.abort());
    await page.goto(`${svc.url}/`);
    await page.waitForFunction('document.querySelectorAll("tr[data-node]").length === 4', undefined, { timeout: 10_000 });

    expect(await page.textContent('tr[data-node="px02"] td.since')).toMatch(/^draining for \d/);
    expect(await page.textContent('tr[data-node="px01"] td.since')).toMatch(/^ready for \d/);
    await page.waitForSelector('tr[data-node="px02"] td.calls svg path', { timeout: 10_000 });
    expect(await page.getAttribute('tr[data-node="px02"] td.calls svg', 'aria-label')).toBe('calls over the last 1 min: 21, 14, 8');
    expect(await page.$('tr[data-node="px01"] td.calls svg')).toBeNull();
    await page.waitForFunction('document.querySelector(\'tr[data-node="px01"] td.applied\')?.textContent === "in sync (1)"', undefined, { timeout: 15_000 });
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
  });
});
