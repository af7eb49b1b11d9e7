// Test helper: a headless Chromium (the system one, /usr/bin/chromium) on a throwaway profile, closed and removed after the test.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { onTestFinished } from 'vitest';
import { toolPath } from './requires.js';
import type { BrowserContext } from 'playwright-core';

// Quiet flags: no sandbox (containers), no GPU, and nothing that phones home or adds its own traffic mid-test.
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-dev-shm-usage', '--disable-extensions', '--no-default-browser-check',
];

/**
 * Launches Chromium for the current test; its cleanup is registered here (context closed, then profile removed).
 *
 * @example
 * const page = await (await launchChromium({ viewport: { width: 1360, height: 640 } })).newPage();
 */
export async function launchChromium(options: { viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'drainwatch-chromium-'));
  onTestFinished(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: toolPath('chromium') ?? '/usr/bin/chromium',
    headless: true,
    ...(options.viewport ? { viewport: options.viewport } : {}),
    args: ARGS,
  });
  // Registered after the profile cleanup, so it runs first (vitest runs cleanups in reverse).
  onTestFinished(() => context.close());
  return context;
}
