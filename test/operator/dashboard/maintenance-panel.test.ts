// End to end in headless Chromium: the dashboard shows the running maintenance plan at the top, without a reload.

import { describe, expect, it } from 'vitest';
import { launchChromium } from '../../helpers/chromium.js';
import { requires } from '../../helpers/requires.js';
import { startFleet } from '../../sources/management/helpers.js';
import { api, planWhere, ready, startDrainwatch } from '../api/maintenance-helpers.js';

const SUITE = 'maintenance plan panel in headless Chromium';
const present = requires(SUITE, ['chromium']);

describe.runIf(present)(SUITE, () => {
  it('shows each plan node with its state and calls, and the next node, above the node table', async () => {
    const sim = await startFleet({ nodes: [{ name: 'px01', calls: 4 }, { name: 'px02', calls: 2 }, { name: 'px03' }, { name: 'px04' }] });
    const dw = await startDrainwatch(sim);
    await ready(dw, 4);
    const context = await launchChromium();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${dw.url}/`);
    // No plan yet: the panel stays hidden.
    await page.waitForSelector('#maintenance-plan', { state: 'attached', timeout: 10_000 });
    expect(await page.isHidden('#maintenance-plan')).toBe(true);

    await api(dw, 'POST', '/api/v1/maintenance', { nodes: ['px01', 'px02'], reason: 'upgrade to 36.1', spacing: '10m' });
    await planWhere(dw, (p) => p.nodes[0]?.state === 'draining', 'px01 draining');
    await page.waitForSelector('#maintenance-plan td:text-is("draining")', { timeout: 10_000 });
    const text = (await page.textContent('#maintenance-plan')) ?? '';
    expect(text).toMatch(/Maintenance plan [0-9a-f]{8}: running/);
    expect(text).toContain('upgrade to 36.1');
    expect(text).toMatch(/px01draining4/);
    expect(text).toMatch(/Next: px02 enters in \d+m/);
    // At the top of the page's main area, before the summary chips.
    expect(await page.$eval('main', (main) => main.firstElementChild?.id)).toBe('maintenance-plan');
    expect(problems).toEqual([]);
  });
});
