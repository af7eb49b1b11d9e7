// The HTTP listener under floods from another process: slowloris connections, never-reading event streams, an allow-list.

import { request } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFlood } from '../../helpers/flood.js';
import { startTestService, waitFor } from '../../helpers/service.js';

/** One GET from `from`; resolves with the status (the body is drained, an event stream is cut after its headers). */
function get(url: string, path: string, from: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { localAddress: from, agent: false, timeout: 2000 }, (res) => {
      resolve(res.statusCode ?? 0);
      if (path.endsWith('/events')) res.destroy();
      else res.resume();
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

async function service(http: Record<string, unknown> = {}) {
  // One node that is never probed successfully: the listener is what is under test.
  const dw = await startTestService({ nodes: [{ name: 'px01', address: '127.0.0.1', port: 9, status_url: 'http://127.0.0.1:9/' }], http, haproxy: { agent: null } });
  onTestFinished(() => dw.close());
  const closedMetric = async () => dw.service.metrics.registry.getSingleMetricAsString('drainwatch_listener_connections_closed_total');
  return { dw, closedMetric };
}

describe('HTTP listener under floods', () => {
  it.each([
    ['another address (127.0.0.9)', '127.0.0.9'],
    ['the same address as the client (127.0.0.1)', '127.0.0.1'],
  ])('answers /healthz during 300 slowloris connections from %s and holds at most the per-peer cap', async (_label, from) => {
    const { dw, closedMetric } = await service();
    const flood = await startFlood({ port: Number(new URL(dw.url).port), from, count: 300, mode: 'slowloris' });
    for (let i = 0; i < 5; i += 1) expect(await get(dw.url, '/healthz', '127.0.0.1')).toBe(200);
    // 128 per peer by default: the oldest connections without a complete request gave way.
    await waitFor(() => flood.status().closed >= 300 - 128, 5000, 50, 'slowloris connections closed by the server');
    expect(await closedMetric()).toMatch(/listener="http",reason="evicted"} \d+/);
  });

  it('closes slowloris connections at headers_timeout, not tens of seconds later', async () => {
    const { dw } = await service({ headers_timeout: '500ms', request_timeout: '1s' });
    const flood = await startFlood({ port: Number(new URL(dw.url).port), from: '127.0.0.9', count: 20, mode: 'slowloris' });
    // Node's default check interval (30 s) would keep them for 30 s; with a 1 s interval they go within ~2 s.
    await waitFor(() => flood.status().closed === 20, 5000, 50, 'slowloris connections timed out');
  });

  it('gives a fresh dashboard client its stream (200) after 200 never-reading streams from 127.0.0.9, and destroys the sockets it dropped', async () => {
    const { dw } = await service();
    const flood = await startFlood({ port: Number(new URL(dw.url).port), from: '127.0.0.9', count: 200, mode: 'sse' });
    // 16 streams per address by default: the rest gave way, and their sockets are gone (no fd left behind).
    expect(await get(dw.url, '/api/v1/events', '127.0.0.1')).toBe(200);
    expect(await get(dw.url, '/api/v1/events', '127.0.0.9')).toBe(200);
    // Only a destroyed socket shows as closed once the client reads: an ended stream would stay on keep-alive (5 s).
    flood.resume();
    await waitFor(() => flood.status().closed >= 200 - 16, 3000, 50, 'dropped event-stream sockets destroyed');
  });

  it('closes connections from outside http.allow at accept and serves the allowed address', async () => {
    const { dw, closedMetric } = await service({ allow: ['127.0.0.1'] });
    expect(await get(dw.url, '/healthz', '127.0.0.9')).toBe('ECONNRESET');
    expect(await get(dw.url, '/healthz', '127.0.0.1')).toBe(200);
    expect(await closedMetric()).toMatch(/listener="http",reason="not_allowed"} 1/);
  });
});
