// The dashboard's HTTP side: page and assets without external references, the event stream, clean close.

import { describe, expect, it } from 'vitest';
import { createAdminApi } from '../../../src/operator/api/nodes.js';
import { formatEvent } from '../../../src/operator/dashboard/events.js';
import { createDashboard } from '../../../src/operator/dashboard/routes.js';
import { startSimulator, watch } from '../fleet.js';

describe('dashboard event stream format', () => {
  it.each([
    ['heartbeat', { version: 3 }, 'event: heartbeat\ndata: {"version":3}\n\n'],
    ['snapshot', { nodes: [{ reason: 'line\nbreak' }] }, 'event: snapshot\ndata: {"nodes":[{"reason":"line\\nbreak"}]}\n\n'],
  ])('formats a %s event on one data line', (event, data, expected) => {
    expect(formatEvent(event, data)).toBe(expected);
  });
});

/** Reads SSE events from a fetch body until `until` returns true or the stream ends. */
async function readEvents(body: ReadableStream<Uint8Array>, until: (events: Array<{ event: string; data: unknown }>) => boolean) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events: Array<{ event: string; data: unknown }> = [];
  let buffer = '';
  let ended = false;
  for (let i = 0; i < 1000 && !until(events); i += 1) {
    const { done, value } = await reader.read();
    if (done) {
      ended = true;
      break;
    }
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
    }
  }
  return { events, ended, reader };
}

describe('dashboard over HTTP', () => {
  it('serves the page, script and style from drainwatch itself with a strict content security policy', async () => {
    const sim = await startSimulator(1);
    const svc = await watch(sim);
    const page = await fetch(`${svc.url}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script src="/dashboard.js"');
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of ['/dashboard.js', '/dashboard.css']) {
      const response = await fetch(`${svc.url}${asset}`);
      expect(response.status).toBe(200);
      expect(await response.text()).not.toMatch(/https?:\/\//);
    }
  });

  it('streams a snapshot on connect and another after a change, and ends the stream when the service closes', async () => {
    const sim = await startSimulator(2);
    const svc = await watch(sim);
    const response = await fetch(`${svc.url}/api/v1/events`);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const body = response.body as ReadableStream<Uint8Array>;
    const first = await readEvents(body, (events) => events.length >= 1);
    const initial = first.events[0]?.data as { nodes: Array<{ name: string; state: string }> };
    expect(first.events[0]?.event).toBe('snapshot');
    expect(initial.nodes.map((n) => n.name)).toEqual(['px01', 'px02']);
    first.reader.releaseLock();

    await sim.setPhase('px02', 'maintenance', 'upgrade');
    const second = await readEvents(body, (events) =>
      events.some((e) => (e.data as { nodes?: Array<{ name: string; state: string }> }).nodes?.find((n) => n.name === 'px02')?.state === 'draining'),
    );
    expect(second.ended).toBe(false);
    second.reader.releaseLock();

    const started = Date.now();
    const closing = svc.service.close(10_000);
    const rest = await readEvents(body, () => false);
    await closing;
    expect(rest.ended).toBe(true);
    // Closed by drainwatch, not by the 10 s grace period running out.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('sends heartbeats that carry every node\'s current verdict age', async () => {
    const sim = await startSimulator(3);
    const svc = await watch(sim, { service: { frontends: [createAdminApi, (context) => createDashboard(context, { heartbeatMs: 100 })] } });
    const response = await fetch(`${svc.url}/api/v1/events`);
    const { events, reader } = await readEvents(response.body as ReadableStream<Uint8Array>, (list) => list.some((e) => e.event === 'heartbeat'));
    await reader.cancel();
    const beat = events.find((e) => e.event === 'heartbeat')?.data as { version: number; age_ms: number[] };
    expect(beat.age_ms).toHaveLength(3);
    for (const age of beat.age_ms) expect(age).toBeGreaterThanOrEqual(0);
  });
});
