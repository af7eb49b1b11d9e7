// End to end in headless Chromium: a banner names every diverged load-balancer target, and goes once it is in sync.

import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { launchChromium } from '../../helpers/chromium.js';
import { requires } from '../../helpers/requires.js';
import { startTestService, waitFor } from '../../helpers/service.js';
import { Simulator } from '../../../src/simulator/index.js';

const SUITE = 'load-balancer banner in headless Chromium';
const present = requires(SUITE, ['chromium']);

describe.runIf(present)(SUITE, () => {
  it('shows the diverged NGINX target with its reason, and hides it once the test command passes', async () => {
    const sim = await Simulator.start({ nodes: 1 });
    onTestFinished(() => sim.close());
    const dir = mkdtempSync(join(tmpdir(), 'drainwatch-banner-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    // A test command that fails while a flag file exists, as `nginx -t` does while another include is mid-edit.
    const flag = join(dir, 'broken');
    writeFileSync(flag, '');
    const check = join(dir, 'check.sh');
    writeFileSync(check, `#!/bin/sh\n[ ! -e '${flag}' ] || { echo "include being replaced" >&2; exit 1; }\n`);
    chmodSync(check, 0o755);
    const node = sim.nodes()[0]!;
    const dw = await startTestService({
      nodes: [{ name: node.name, address: '127.0.0.1', port: node.port, status_url: node.statusUrl }],
      probe: { interval: '1s', timeout: '800ms', max_age: '5s' },
      nginx: { upstreams: [{ name: 'pexip', file: join(dir, 'pexip.conf'), test_command: [check], reload_command: ['true'], settle: '10ms' }] },
    });
    onTestFinished(() => dw.close());
    const context = await launchChromium();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${dw.url}/`);
    await page.waitForSelector('#lb-banner:not([hidden])', { timeout: 15_000 });
    const text = (await page.textContent('#lb-banner')) ?? '';
    expect(text).toContain('diverged');
    expect(text).toContain('nginx:pexip');
    // Placed with the other page-wide warnings, above the node table.
    expect(await page.$eval('#lb-banner', (banner) => banner.previousElementSibling?.id)).toBe('guard');

    rmSync(flag);
    await waitFor(async () => {
      const body = (await (await fetch(`${dw.url}/api/v1/loadbalancers`)).json()) as { diverged: number };
      return body.diverged === 0;
    }, 40_000, 100, 'the NGINX target to retry and come back in sync');
    await page.waitForSelector('#lb-banner', { state: 'hidden', timeout: 15_000 });
    expect(problems).toEqual([]);
  });
});
