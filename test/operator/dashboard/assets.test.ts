// The dashboard's static files: served byte for byte from assets/ with their types and revalidation, and type-checked.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createDashboard } from '../../../src/operator/dashboard/routes.js';
import { captureLogger } from '../fleet.js';
import type { FrontendContext } from '../../../src/frontends/frontend.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ASSETS = new URL('../../../src/operator/dashboard/assets/', import.meta.url);

/** Just enough context for the static routes: no stream is opened in these tests. */
function dashboardApp(): { app: Hono; close: () => Promise<void> } {
  const app = new Hono();
  const source = { snapshot: () => { throw new Error('no snapshot in this test'); }, published: () => { throw new Error('no snapshot in this test'); }, onChange: () => () => undefined };
  const context = { app, source, logger: captureLogger(), clock: () => 0 } as unknown as FrontendContext;
  const frontend = createDashboard(context);
  return { app, close: () => frontend.close() };
}

describe('dashboard static files', () => {
  it.each([
    ['/', 'index.html', 'text/html; charset=utf-8'],
    ['/dashboard.js', 'dashboard.js', 'text/javascript; charset=utf-8'],
    ['/dashboard.css', 'dashboard.css', 'text/css; charset=utf-8'],
  ])('serves %s as assets/%s with content type %s and a revalidating cache policy', async (path, file, type) => {
    const { app, close } = dashboardApp();
    const response = await app.request(path);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(type);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(await response.text()).toBe(readFileSync(new URL(file, ASSETS), 'utf8'));
    await close();
  });

  it('answers 304 without a body when the browser already has the same file, and 200 for another tag', async () => {
    const { app, close } = dashboardApp();
    const etag = (await app.request('/dashboard.js')).headers.get('etag') as string;
    const same = await app.request('/dashboard.js', { headers: { 'if-none-match': `"other", W/${etag}` } });
    expect(same.status).toBe(304);
    expect(await same.text()).toBe('');
    const stale = await app.request('/dashboard.js', { headers: { 'if-none-match': '"other"' } });
    expect(stale.status).toBe(200);
    await close();
  });

  it('passes the TypeScript check of dashboard.js (tsconfig.dashboard.json: checkJs, DOM, the API node type)', async () => {
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.dashboard.json'], { cwd: ROOT }).then(
      () => ({ ok: true, output: '' }),
      (error: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
    );
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  }, 60_000);
});
