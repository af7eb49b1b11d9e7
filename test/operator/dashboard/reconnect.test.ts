// In headless Chromium: a dashboard whose event stream fails falls back to polling and returns to the stream.

import { describe, expect, it } from 'vitest';
import { launchChromium } from '../../helpers/chromium.js';
import { startSimulator, watch } from '../fleet.js';
import { waitFor } from '../../helpers/service.js';
import { requires } from '../../helpers/requires.js';

const SUITE = 'dashboard reconnects in headless Chromium';
const present = requires(SUITE, ['chromium']);

describe.runIf(present)(SUITE, () => {
  it('polls /api/v1/nodes while the event stream answers 503, then goes back to the stream once it answers again', async () => {
    const sim = await startSimulator(2);
    const svc = await watch(sim);
    const context = await launchChromium();
    const page = await context.newPage();
    // A full server (before this fix: 503 for every later dashboard) stands in as a route answering 503.
    let refusing = true;
    let refused = 0;
    await page.route('**/api/v1/events', async (route) => {
      if (!refusing) return route.continue();
      refused += 1;
      await route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"too many dashboard event streams open"}' });
    });
    await page.goto(`${svc.url}/`);
    // Rows rendered from polling, and the page says so.
    await page.waitForSelector('#live[data-status="live"]', { timeout: 15_000 });
    expect(await page.textContent('#live-text')).toBe('polling');
    expect(await page.$$eval('tr[data-node]', (rows) => rows.length)).toBe(2);
    // It keeps trying the stream (with back-off) rather than giving up after the first refusal.
    expect(refused).toBeGreaterThanOrEqual(2);
    refusing = false;
    await waitFor(async () => (await page.textContent('#live-text')) === 'live', 20_000, 100, 'the dashboard back on its event stream');
  });
});
