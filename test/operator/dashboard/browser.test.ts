// End to end in headless Chromium: the dashboard lists every node, follows a drain live, and sets an override.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { launchChromium } from '../../helpers/chromium.js';
import { waitFor } from '../../helpers/service.js';
import { TOKEN, startSimulator, watch } from '../fleet.js';
import { requires } from '../../helpers/requires.js';

const SUITE = 'dashboard in headless Chromium';
const present = requires(SUITE, ['chromium']);
const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));


describe.runIf(present)(SUITE, () => {
  it('shows every simulated node and turns one draining within 3 s of the simulator flipping it, without a reload', async () => {
    const sim = await startSimulator(5, { management: true });
    for (const [name, load, calls] of [['px01', 37, 9], ['px02', 62, 21], ['px03', 0, 0], ['px04', 12, 3], ['px05', 48, 14]] as const) {
      sim.setLoad(name, load);
      sim.setCalls(name, calls);
    }
    const svc = await watch(sim, { config: { management: { url: sim.managementUrl, interval: '1s' } } });
    await waitFor(async () => ((await (await fetch(`${svc.url}/api/v1/nodes/px02`)).json()) as { load: number | null }).load !== null, 10_000, 50, 'loads from the Management Node');
    const context = await launchChromium({ viewport: { width: 1360, height: 640 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));

    await page.goto(`${svc.url}/`);
    await page.waitForFunction(`document.querySelectorAll('tr[data-node]').length === ${sim.nodes().length}`, undefined, { timeout: 10_000 });
    const names = await page.$$eval('tr[data-node]', (rows) => rows.map((row) => row.getAttribute('data-node')));
    expect(names).toEqual(sim.nodes().map((node) => node.name));
    for (const name of names) expect(await page.textContent(`tr[data-node="${name}"] .badge`)).toBe('ready');
    await page.waitForSelector('#live[data-status="live"]', { timeout: 5000 });
    // A marker that a reload would wipe out.
    await page.evaluate('window.stayed = true');

    const flipped = Date.now();
    await sim.setPhase('px03', 'maintenance', 'Software upgrade in progress');
    await page.waitForSelector('tr[data-node="px03"][data-state="draining"]', { timeout: 3000 });
    const seenAfterMs = Date.now() - flipped;
    expect(seenAfterMs).toBeLessThanOrEqual(3000);
    expect(await page.evaluate('window.stayed === true')).toBe(true);
    expect(await page.textContent('tr[data-node="px03"] .reason')).toContain('Software upgrade in progress');
    expect(await page.textContent('.chip.draining .n')).toBe('1');
    console.info(`dashboard showed px03 draining ${seenAfterMs} ms after the simulator flipped it`);

    // The override form: asks for the token, calls the PUT API, the row follows.
    await page.click('tr[data-node="px05"] button');
    await page.check('input[name="state"][value="maint"]');
    await page.fill('#ov-reason', 'replacing the host NIC');
    await page.fill('#ov-expires', '2h');
    await page.fill('#ov-user', 'alice');
    await page.fill('#ov-token', 'wrong-token');
    await page.click('#ov-apply');
    await page.waitForSelector('#ov-result.error', { timeout: 5000 });
    expect(await page.textContent('#ov-result')).toContain('not valid');
    await page.fill('#ov-token', TOKEN);
    await page.click('#ov-apply');
    await page.waitForSelector('#ov-result.ok', { timeout: 5000 });
    await page.click('#ov-cancel');
    await page.waitForSelector('tr[data-node="px05"][data-state="maint"]', { timeout: 3000 });
    expect(await page.textContent('tr[data-node="px05"] .override')).toContain('by alice from 127.0.0.1');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // Everything came from drainwatch itself (no CDN), and the page ran cleanly.
    const origin = new URL(svc.url).origin;
    expect(requests.filter((url) => !url.startsWith(origin))).toEqual([]);
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
  }, 60_000);
});
