// `drainwatch wait-drained --applied`: drained is not enough, every load-balancer target must hold the node as told.

import { createServer } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { notApplied, run } from '../../../src/cli/commands/wait-drained.js';
import { waitFor } from '../../helpers/service.js';
import type { AddressInfo } from 'node:net';

/** A stand-in drainwatch answering GET /api/v1/nodes/px01 with whatever the test sets. */
async function fakeDrainwatch(): Promise<{ url: string; set(node: Record<string, unknown>): void; requests: () => number }> {
  let node: Record<string, unknown> = {};
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(node));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, set: (next) => (node = next), requests: () => requests };
}

function captureIo() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (text: string) => (out.stdout += text) }, stderr: { write: (text: string) => (out.stderr += text) } } };
}

const drained = { name: 'px01', state: 'draining', calls: 0, drained_since: '2026-01-01T00:00:00.000Z', reason: 'Upgrade', maintenance: true };

describe('drainwatch wait-drained --applied', () => {
  it('keeps waiting while a target is not in sync for the node, then exits 0', async () => {
    const dw = await fakeDrainwatch();
    dw.set({ ...drained, applied: { 'haproxy:/s/pexip': 'in_sync', 'nginx:pexip': 'diverged' } });
    const { out, io } = captureIo();
    const exit = run(['px01', '--applied', '--url', dw.url, '--interval', '20ms', '--timeout', '20s'], io);
    await waitFor(() => out.stderr.includes('px01 is drained, not yet applied everywhere: nginx:pexip diverged'), 10_000, 10, 'progress line');
    dw.set({ ...drained, applied: { 'haproxy:/s/pexip': 'in_sync', 'nginx:pexip': 'in_sync' } });
    expect(await exit).toBe(0);
    expect(out.stdout).toBe('px01 is drained: draining, 0 calls since 2026-01-01T00:00:00.000Z; applied on 2 load-balancer target(s)\n');
  });

  it('times out naming the problem when drainwatch does not report applied', async () => {
    const dw = await fakeDrainwatch();
    dw.set(drained);
    const { out, io } = captureIo();
    expect(await run(['px01', '--applied', '--url', dw.url, '--interval', '20ms', '--timeout', '300ms'], io)).toBe(1);
    expect(out.stderr).toContain('does not report what its load balancers hold');
  });

  it('ignores applied without the flag', async () => {
    const dw = await fakeDrainwatch();
    dw.set({ ...drained, applied: { 'nginx:pexip': 'diverged' } });
    expect(await run(['px01', '--url', dw.url, '--interval', '20ms', '--timeout', '5s'], captureIo().io)).toBe(0);
  });

  it.each([
    [{}, []],
    [{ applied: {} }, []],
    [{ applied: { a: 'in_sync', b: 'converging' } }, ['b converging']],
  ])('lists the targets not in sync in %j', (node, pending) => {
    expect(notApplied(node as { applied?: Record<string, string> }) ?? []).toEqual(pending);
  });
});
