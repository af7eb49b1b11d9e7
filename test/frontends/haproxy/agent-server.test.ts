// The agent-check server against well-behaved and hostile clients (no HAProxy needed).

import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Simulator } from '../../../src/simulator/index.js';
import { startFlood } from '../../helpers/flood.js';
import { startTestService, waitFor } from '../../helpers/service.js';
import type { Socket } from 'node:net';
import type { HaproxyAgentFrontend } from '../../../src/frontends/haproxy/agent-server.js';

type Answer = { text: string; closedAfterMs: number; error: string | null };

/** Connects, writes `payload` (and half-closes when `end`), and collects everything until the server closes. */
function ask(port: number, payload: string | Buffer | null, options: { end?: boolean; timeoutMs?: number; from?: string } = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port, localAddress: options.from ?? '127.0.0.1' });
    let text = '';
    let error: string | null = null;
    const timer = setTimeout(() => socket.destroy(new Error('client gave up')), options.timeoutMs ?? 5000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - started, error });
    });
    socket.on('connect', () => {
      if (payload === null) return;
      if (options.end) socket.end(payload);
      else socket.write(payload);
    });
  });
}

async function setup(agent: Record<string, unknown> = {}) {
  const sim = await Simulator.start({ nodes: 3, management: false });
  onTestFinished(() => sim.destroy());
  await sim.setPhase('px02', 'maintenance', 'Upgrade\r\nup ready 100%');
  const dw = await startTestService({
    nodes: sim.nodes().map((node) => ({ name: node.name, address: node.address, port: node.port, status_url: node.statusUrl })),
    probe: { interval: '500ms', timeout: '450ms', jitter: 0, max_age: '10s' },
    haproxy: { agent: { listen: '127.0.0.1:0', idle_timeout: '400ms', ...agent } },
  });
  onTestFinished(() => dw.close());
  await waitFor(() => {
    const snapshot = dw.service.core.snapshot();
    return snapshot.get('px01')?.state === 'ready' && snapshot.get('px02')?.state === 'draining' && snapshot.get('px03')?.state === 'ready';
  }, 5000, 25, 'first verdicts');
  const address = (dw.service.frontend('haproxy-agent') as HaproxyAgentFrontend).address();
  if (!address) throw new Error('agent not listening');
  const metric = async () => dw.service.metrics.registry.getSingleMetricAsString('drainwatch_haproxy_agent_requests_total');
  return { sim, dw, port: address.port, metric };
}

describe('HAProxy agent-check server', () => {
  it('answers each verdict from the snapshot: ready, drain (sanitised), unknown names with an empty line', async () => {
    const { port, metric } = await setup();
    expect((await ask(port, 'px01\n')).text).toBe('up ready 100%\n');
    expect((await ask(port, 'px02\n')).text).toBe('up drain #Upgrade up ready 100%\n');
    expect((await ask(port, 'px01\r')).text).toBe('up ready 100%\n');
    expect((await ask(port, 'px01\r\n')).text).toBe('up ready 100%\n');
    expect((await ask(port, 'nosuchnode\n')).text).toBe('\n');
    // No newline, but the client half-closes: its bytes are the line.
    expect((await ask(port, 'px03', { end: true })).text).toBe('up ready 100%\n');
    const text = await metric();
    expect(text).toMatch(/result="ready"} 4/);
    expect(text).toMatch(/result="drain"} 1/);
    expect(text).toMatch(/result="unknown_node"} 1/);
  });

  it('answers a 64 KiB line without newline, binary garbage and a reset with an empty line or a close, and keeps serving', async () => {
    const { port, metric } = await setup();
    const long = await ask(port, Buffer.alloc(64 * 1024, 0x41));
    expect(long.text).toBe('\n');
    const garbage = await ask(port, randomBytes(4096));
    expect(['\n', '']).toContain(garbage.text);
    const garbageLine = await ask(port, Buffer.concat([randomBytes(100).map((b) => (b === 10 || b === 13 ? 0 : b)), Buffer.from('\n')]));
    expect(garbageLine.text).toBe('\n');
    // A client that resets mid-line.
    await new Promise<void>((resolve) => {
      const socket: Socket = connect({ host: '127.0.0.1', port }, () => {
        socket.write('px0');
        setTimeout(() => {
          socket.resetAndDestroy();
          resolve();
        }, 20);
      });
      socket.on('error', () => undefined);
    });
    expect((await ask(port, 'px01\n')).text).toBe('up ready 100%\n');
    expect(await metric()).toMatch(/result="bad_request"} [3-9]/);
  });

  it('closes a client that sends nothing after the idle timeout, not before', async () => {
    const { port, metric } = await setup();
    const silent = ask(port, null);
    const partial = ask(port, 'px0'); // no newline, never half-closes
    expect((await ask(port, 'px01\n')).text).toBe('up ready 100%\n');
    const [a, b] = await Promise.all([silent, partial]);
    expect(a.text).toBe('');
    expect(b.text).toBe('');
    expect(a.closedAfterMs).toBeGreaterThanOrEqual(350);
    expect(a.closedAfterMs).toBeLessThan(3000);
    expect(await metric()).toMatch(/result="timeout"} 2/);
  });

  it('closes the oldest connection that sent no line when max_connections is reached, so a check is still answered', async () => {
    const { port, metric, dw } = await setup({ max_connections: 50, idle_timeout: '5s' });
    const idle = Array.from({ length: 50 }, () => ask(port, null, { from: '127.0.0.9' }));
    const agent = dw.service.frontend('haproxy-agent') as HaproxyAgentFrontend;
    await waitFor(() => agent.connections() === 50, 2000, 10, '50 idle connections accepted');
    const checks = await Promise.all(Array.from({ length: 10 }, () => ask(port, 'px01\n')));
    for (const answer of checks) expect(answer.text).toBe('up ready 100%\n');
    // Checks that ended freed their own slot, so fewer than ten idle connections had to give way.
    expect(await metric()).toMatch(/result="evicted"} \d+/);
    expect(await metric()).not.toMatch(/result="rejected"/);
    // The oldest idle connection was the first to go, without an answer, long before its idle timeout.
    const first = await Promise.race([idle[0], new Promise<null>((resolve) => setTimeout(() => resolve(null), 2000))]);
    expect(first?.text).toBe('');
    expect(agent.connections()).toBeLessThanOrEqual(50);
    await agent.destroy();
    await Promise.all(idle);
  });

  it.each([
    ['another address (127.0.0.9)', '127.0.0.9'],
    ['the same address as the checks (127.0.0.1)', '127.0.0.1'],
  ])('answers every check within 1 s while 400 idle connections flood from %s', async (_label, floodFrom) => {
    const { port, dw } = await setup({ max_connections: 200, max_connections_per_peer: 100, idle_timeout: '10s' });
    const flood = await startFlood({ port, from: floodFrom, count: 400, mode: 'idle' });
    const agent = dw.service.frontend('haproxy-agent') as HaproxyAgentFrontend;
    expect(agent.connections()).toBeLessThanOrEqual(100);
    const answers = await Promise.all(Array.from({ length: 10 }, () => ask(port, 'px01\n', { timeoutMs: 1000 })));
    for (const answer of answers) {
      expect(answer.error).toBeNull();
      expect(answer.text).toBe('up ready 100%\n');
      expect(answer.closedAfterMs).toBeLessThan(1000);
    }
    // Most of the flood was closed by the server, long before its 10 s idle timeout.
    await waitFor(() => flood.status().closed >= 300, 5000, 50, 'flood sockets closed by the server');
  });

  it('closes connections from outside haproxy.agent.allow at accept and answers the allowed ones', async () => {
    const { port, metric } = await setup({ allow: ['127.0.0.1/32', 'fd00::/8'] });
    const outside = await ask(port, 'px01\n', { from: '127.0.0.9' });
    expect(outside.text).toBe('');
    expect((await ask(port, 'px01\n')).text).toBe('up ready 100%\n');
    expect(await metric()).toMatch(/result="not_allowed"} 1/);
  });

  it('serves 2,000 concurrent connections (half silent, half asking) with bounded memory and correct answers', async () => {
    // One peer opens all 2,020 here: the per-peer cap is lifted so none of the asking ones give way.
    const { port } = await setup({ idle_timeout: '2s', max_connections_per_peer: 4096 });
    const before = process.memoryUsage();
    const silent = Array.from({ length: 1000 }, () => ask(port, null, { timeoutMs: 10_000 }));
    const asking = Array.from({ length: 1000 }, (_v, i) => ask(port, i % 2 === 0 ? 'px01\n' : 'px02\n', { timeoutMs: 10_000 }));
    // Hostile big writers at the same time.
    const hostile = Array.from({ length: 20 }, () => ask(port, Buffer.alloc(64 * 1024, 0x42), { timeoutMs: 10_000 }));
    const answers = await Promise.all(asking);
    const during = process.memoryUsage();
    for (const [i, answer] of answers.entries()) {
      // Exact text is not the point here (a loaded machine may see a probe time out): one whole line per client.
      expect(answer.text).toMatch(i % 2 === 0 ? /^(up ready 100%|down #.*|)\n$/ : /^(up drain #Upgrade up ready 100%.*|down #.*|)\n$/);
    }
    expect(answers.filter((answer, i) => answer.text === (i % 2 === 0 ? 'up ready 100%\n' : 'up drain #Upgrade up ready 100%\n')).length).toBeGreaterThan(900);
    expect((await ask(port, 'px03\n')).text).toMatch(/^up ready 100%\n$|^down /);
    await Promise.all([...silent, ...hostile]);
    const rssDeltaMb = (during.rss - before.rss) / 2 ** 20;
    const heapDeltaMb = (during.heapUsed - before.heapUsed) / 2 ** 20;
    console.info(`2,000 connections: rss +${rssDeltaMb.toFixed(1)} MiB, heap +${heapDeltaMb.toFixed(1)} MiB (client and server in one process)`);
    expect(rssDeltaMb).toBeLessThan(256);
    expect(heapDeltaMb).toBeLessThan(128);
  });
});
