// HAProxy read-back against a fake stats socket: comparisons, missing and unknown servers, repairs, and bad answers.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LoadBalancerSync } from '../../../src/core/lb-sync.js';
import { silentLogger } from '../../../src/core/logger.js';
import { BackendReader } from '../../../src/frontends/haproxy/read-back.js';
import { FakeSource, snapshotOf, verdict } from '../envoy/fixtures.js';
import type { Socket } from 'node:net';
import type { BackendReaderOptions } from '../../../src/frontends/haproxy/read-back.js';

const HEADER = '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state\n';
const row = (id: number, name: string, op: number, admin: number, weight: number, agent = 22) => `2 pexip ${id} ${name} 10.0.1.${id} ${op} ${admin} ${weight} 100 3 6 3 3 6 ${agent}\n`;

type Answer = string | ((socket: Socket) => void);

/** A unix stats socket whose answer the test sets; records each command. */
async function fakeSocket(): Promise<{ path: string; answer: (next: Answer) => void; commands: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-readback-'));
  const path = join(dir, 'admin.sock');
  let current: Answer = `${HEADER}\n`;
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (chunk) => {
      commands.push(chunk.toString().trim());
      if (typeof current === 'string') socket.end(current);
      else current(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });
  return { path, answer: (next) => (current = next), commands };
}

async function rig(mode: 'agent' | 'push', extra: Partial<BackendReaderOptions> = {}) {
  const stats = await fakeSocket();
  let now = 1_000_000;
  const sync = new LoadBalancerSync({ now: () => now });
  const source = new FakeSource(snapshotOf([verdict('px01', 'ready'), verdict('px02', 'draining')]));
  const repairs: string[][] = [];
  const reader = new BackendReader({
    source, sync, socket: { path: stats.path }, socketText: stats.path, backend: 'pexip', mode,
    intervalMs: 60_000, timeoutMs: 300, budgetMs: 2000, logger: silentLogger,
    repair: (names) => repairs.push([...names]), ...extra,
  });
  onTestFinished(() => reader.close());
  const target = () => sync.get(reader.id)!;
  sync.register({ id: reader.id, kind: 'haproxy', target: stats.path, budgetMs: 2000 });
  return { stats, sync, source, reader, repairs, target, advance: (ms: number) => (now += ms) };
}

describe('BackendReader', () => {
  it('reports every server in sync when HAProxy holds the verdicts', async () => {
    const { stats, reader, target } = await rig('agent');
    stats.answer(`${HEADER}${row(1, 'px01', 2, 0, 100)}${row(2, 'px02', 2, 8, 100)}\n`);
    expect(await reader.read()).toEqual({ ok: true, diverged: [], repaired: [] });
    expect(stats.commands).toEqual(['show servers state pexip']);
    expect(target()).toMatchObject({ status: 'in_sync', nodes: [{ name: 'px01', want: 'ready 100%', have: 'ready 100%' }, { name: 'px02', want: 'drain', have: 'drain' }] });
  });

  it('reports, without repairing, a server changed by hand in agent mode', async () => {
    const { stats, reader, target, repairs } = await rig('agent');
    stats.answer(`${HEADER}${row(1, 'px01', 2, 0, 100)}${row(2, 'px02', 2, 8, 100)}\n`);
    await reader.read();
    stats.answer(`${HEADER}${row(1, 'px01', 0, 1, 100)}${row(2, 'px02', 2, 8, 100)}\n`);
    expect(await reader.read()).toMatchObject({ diverged: ['px01'], repaired: [] });
    expect(target().nodes[0]).toMatchObject({ status: 'diverged', have: 'maint', reason: "changed behind drainwatch's back: expected ready 100%, has maint" });
    expect(repairs).toEqual([]);
  });

  it('names a server whose agent check is disabled or missing in agent mode', async () => {
    const { stats, reader, target } = await rig('agent');
    stats.answer(`${HEADER}${row(1, 'px01', 2, 0, 100, 18)}${row(2, 'px02', 2, 8, 100, 0)}\n`);
    await reader.read();
    expect(target().nodes.map((node) => [node.status, node.reason])).toEqual([
      ['diverged', 'agent check disabled on this server (by hand: `enable agent` restores it)'],
      ['diverged', 'server has no agent-check: the agent cannot steer it'],
    ]);
  });

  it('repairs a hand-made change at once in push mode and counts it', async () => {
    const { stats, reader, target, repairs } = await rig('push');
    stats.answer(`${HEADER}${row(1, 'px01', 2, 0, 100, 0)}${row(2, 'px02', 2, 8, 100, 0)}\n`);
    await reader.read();
    stats.answer(`${HEADER}${row(1, 'px01', 2, 0, 100, 0)}${row(2, 'px02', 2, 0, 100, 0)}\n`);
    expect(await reader.read()).toMatchObject({ diverged: ['px02'], repaired: ['px02'] });
    expect(repairs).toEqual([['px02']]);
    expect(target().repairs).toBe(1);
    stats.answer(`${HEADER}${row(1, 'px01', 2, 0, 100, 0)}${row(2, 'px02', 2, 0, 100, 0)}\n`);
    await reader.read();
    expect(target().nodes[1]).toMatchObject({ status: 'diverged', reason: 'repair did not hold: expected drain, has ready 100%' });
  });

  it('waits out the budget for a verdict change before repairing in push mode', async () => {
    const { stats, reader, source, repairs, advance } = await rig('push');
    stats.answer(`${HEADER}${row(1, 'px01', 2, 0, 100, 0)}${row(2, 'px02', 2, 8, 100, 0)}\n`);
    await reader.read();
    source.set([verdict('px01', 'draining'), verdict('px02', 'draining')]);
    expect(await reader.read()).toMatchObject({ diverged: [], repaired: [] });
    advance(2000);
    expect(await reader.read()).toMatchObject({ diverged: ['px01'], repaired: ['px01'] });
    expect(repairs).toEqual([['px01']]);
  });

  it('does not try to repair a node HAProxy itself found down', async () => {
    const { stats, reader, repairs, advance, target } = await rig('push');
    stats.answer(`${HEADER}${row(1, 'px01', 0, 0, 100, 0)}${row(2, 'px02', 2, 8, 100, 0)}\n`);
    await reader.read();
    advance(5000);
    await reader.read();
    expect(target().nodes[0]).toMatchObject({ status: 'diverged', reason: "HAProxy's own health check has px01 DOWN (expected ready 100%)" });
    expect(repairs).toEqual([]);
  });

  it('lists servers drainwatch does not know and nodes the backend lacks', async () => {
    const { stats, reader, target } = await rig('agent');
    stats.answer(`${HEADER}${row(1, 'px01', 2, 0, 100)}${row(9, 'old09', 2, 0, 100)}\n`);
    await reader.read();
    expect(target()).toMatchObject({ status: 'diverged', unmanaged: ['old09'] });
    expect(target().nodes[1]).toMatchObject({ name: 'px02', have: null, status: 'diverged', reason: 'backend pexip has no server px02' });
  });

  it.each([
    ['an unknown backend', "Can't find backend.\n\n", 'diverged', 'HAProxy has no backend "pexip"'],
    ['garbage', 'garbage\n\n', 'unreachable', 'unexpected answer to show servers state: "garbage"'],
    ['a half line', `${HEADER}2 pexip 1 px01\n\n`, 'unreachable', 'show servers state line 3 has 4 fields, the header names 15'],
    ['an answer cut off', `${HEADER}2 pexip 1 px01`, 'unreachable', /^cannot read .*: incomplete answer/],
  ] as const)('gives %s a clear reason and a %s target', async (_what, answer, status, reason) => {
    const { stats, reader, target } = await rig('agent');
    stats.answer(answer);
    expect((await reader.read()).ok).toBe(false);
    expect(target().status).toBe(status);
    expect(target().reason).toMatch(reason);
  });

  it('bounds a socket that never answers by its timeout', async () => {
    const { stats, reader, target } = await rig('agent');
    stats.answer(() => undefined);
    expect(await reader.read()).toEqual({ ok: false, reason: expect.stringMatching(/no complete answer within 300 ms/) });
    expect(target()).toMatchObject({ status: 'unreachable', readFailures: 1 });
  });

  it('calls a refused socket unreachable', async () => {
    const { reader, target } = await rig('agent', { socket: { path: '/nonexistent/admin.sock' }, socketText: '/nonexistent/admin.sock' });
    await reader.read();
    expect(target().status).toBe('unreachable');
    expect(target().reason).toMatch(/cannot read \/nonexistent\/admin.sock: .*ENOENT/);
  });
});
