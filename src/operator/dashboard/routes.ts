// The live dashboard: GET / with its script and style (static files read once from assets/), plus the event stream.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { registerCallsHistory } from './calls-history.js';
import { createEventStream } from './events.js';
import type { Frontend, FrontendContext } from '../../frontends/frontend.js';

export type DashboardOptions = {
  clock?: () => number;
  /** Heartbeat interval on the event stream (default 2 s): refreshes verdict ages and keeps proxies from closing an idle stream. */
  heartbeatMs?: number;
  /** Minimum time between two snapshot events (default 200 ms): bursts of changes are coalesced. */
  minIntervalMs?: number;
  /** Most concurrent event streams (default http.max_event_streams); the oldest slow one gives way. */
  maxClients?: number;
  /** Most concurrent event streams from one address (default http.max_event_streams_per_peer). */
  maxPerPeer?: number;
  /** Bytes queued for one client before it counts as too slow and is closed (default 256 KiB). */
  slowBytes?: number;
};

/** One static file of the dashboard, as served. */
export type DashboardAsset = { path: string; file: string; contentType: string; body: string; etag: string };

// Next to this module in src/ (npm start, tests) and in dist/ (the build copies assets/ there).
const ASSET_DIR = new URL('./assets/', import.meta.url);

const ASSET_FILES: ReadonlyArray<Pick<DashboardAsset, 'path' | 'file' | 'contentType'>> = [
  { path: '/', file: 'index.html', contentType: 'text/html; charset=utf-8' },
  { path: '/dashboard.js', file: 'dashboard.js', contentType: 'text/javascript; charset=utf-8' },
  { path: '/override-dialog.js', file: 'override-dialog.js', contentType: 'text/javascript; charset=utf-8' },
  { path: '/dashboard.css', file: 'dashboard.css', contentType: 'text/css; charset=utf-8' },
  { path: '/maintenance-panel.js', file: 'maintenance-panel.js', contentType: 'text/javascript; charset=utf-8' },
  { path: '/lb-banner.js', file: 'lb-banner.js', contentType: 'text/javascript; charset=utf-8' },
];

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // The names carry no version, so browsers revalidate every time (a cheap 304 thanks to the ETag).
  'cache-control': 'no-cache',
};

let cached: DashboardAsset[] | null = null;

/**
 * Reads the dashboard's files once per process (they never change while it runs).
 * Throws with a plain sentence when one is missing, which means a broken build.
 *
 * @example loadDashboardAssets().map((a) => a.path) // ['/', '/dashboard.js', '/dashboard.css']
 */
export function loadDashboardAssets(): DashboardAsset[] {
  cached ??= ASSET_FILES.map((asset) => {
    const url = new URL(asset.file, ASSET_DIR);
    let body: string;
    try {
      body = readFileSync(url, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new Error(`dashboard file ${url.pathname} cannot be read (${code}); the build copies src/operator/dashboard/assets/ next to routes.js (npm run build)`);
    }
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    return { ...asset, body, etag };
  });
  return cached;
}

/**
 * Registers the dashboard routes on the shared app.
 *
 * @example
 * const dashboard = createDashboard(context);
 * // open http://127.0.0.1:9555/ ; `curl -N 127.0.0.1:9555/api/v1/events` shows the stream
 */
export function createDashboard(context: FrontendContext, options: DashboardOptions = {}): Frontend {
  const { app, source } = context;
  const logger = context.logger.child({ component: 'dashboard' });
  const clock = options.clock ?? context.clock;

  for (const asset of loadDashboardAssets()) {
    const headers = { 'content-type': asset.contentType, etag: asset.etag, ...SECURITY_HEADERS };
    app.get(asset.path, (c) => {
      const match = c.req.header('if-none-match');
      if (match !== undefined && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)) return c.body(null, 304, headers);
      return c.body(asset.body, 200, headers);
    });
  }

  const { heartbeatMs, minIntervalMs, slowBytes } = options;
  // Caps are read per new stream, so a reload applies to the next one.
  const caps = () => ({
    maxClients: options.maxClients ?? context.config().http.max_event_streams,
    maxPerPeer: options.maxPerPeer ?? context.config().http.max_event_streams_per_peer,
  });
  const events = createEventStream({ app, source, logger, clock, heartbeatMs, minIntervalMs, caps, slowBytes });

  // The calls line per draining node: fed from every snapshot, served to the page on load.
  const calls = registerCallsHistory({ app, source, clock });

  return {
    name: 'dashboard',
    // close() already ends every stream at once: nothing in flight to wait for.
    destroy() {
      return this.close();
    },
    async close() {
      // Ending the streams lets the HTTP server close without waiting out its grace period.
      events.close();
      calls.close();
    },
  };
}
