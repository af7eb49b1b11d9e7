// Simulated Conferencing Nodes: phases, upstream paths, faults, HTTPS and addressing modes.

import { request } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { HUGE_BODY_BYTES, Simulator, testTls } from '../../src/simulator/index.js';
import { failure, get, startSim, statusUrl } from './helpers.js';

describe('phases', () => {
  it('answers 200 OK when up and 503 with the reason in maintenance', async () => {
    const sim = await startSim({ nodes: [{ name: 'px01' }, { name: 'px02', phase: 'maintenance' }] });

    const up = await get(statusUrl(sim, 'px01'));
    expect(up.status).toBe(200);
    expect(up.headers['content-type']).toBe('application/json');
    expect(JSON.parse(up.body)).toEqual({ status: 'success', result: 'OK' });

    const maint = await get(statusUrl(sim, 'px02'));
    expect(maint.status).toBe(503);
    expect(JSON.parse(maint.body)).toEqual({ status: 'failed', result: 'Node is in maintenance mode' });

    await sim.setPhase('px01', 'maintenance', 'Software upgrade to 36.1');
    const reasoned = await get(statusUrl(sim, 'px01'));
    expect(reasoned.status).toBe(503);
    expect(JSON.parse(reasoned.body)).toEqual({ status: 'failed', result: 'Software upgrade to 36.1' });
    expect(sim.node('px01')?.reason).toBe('Software upgrade to 36.1');

    await sim.setPhase('px01', 'up');
    expect((await get(statusUrl(sim, 'px01'))).status).toBe(200);
    expect(sim.node('px01')?.reason).toBeNull();
  });

  it('accepts the connection but never answers while booting', async () => {
    const sim = await startSim({ nodes: [{ name: 'px01', phase: 'booting' }] });
    const error = await failure(statusUrl(sim, 'px01'), { timeoutMs: 300 });
    expect(error.name).toBe('AbortError');
    expect(sim.probeRequests('px01')).toBe(1);
  });

  it('refuses connections while rebooting or down and answers again on the same port once up', async () => {
    const sim = await startSim({ nodes: 2 });
    const url = statusUrl(sim, 'px01');

    await sim.setPhase('px01', 'rebooting');
    expect((await failure(url)).code).toBe('ECONNREFUSED');
    await sim.setPhase('px01', 'down');
    expect((await failure(url)).code).toBe('ECONNREFUSED');
    expect((await get(statusUrl(sim, 'px02'))).status).toBe(200);

    await sim.setPhase('px01', 'booting');
    expect((await failure(url, { timeoutMs: 200 })).name).toBe('AbortError');
    await sim.setPhase('px01', 'up');
    expect(statusUrl(sim, 'px01')).toBe(url);
    expect((await get(url)).status).toBe(200);
  });

  it('drops open connections when a node reboots', async () => {
    const sim = await startSim({ nodes: 1 });
    const node = sim.node('px01');
    const pending = get(`http://127.0.0.1:${node?.port}/stream?seconds=30&interval_ms=50`, { timeoutMs: 20_000 });
    await vi.waitFor(() => expect(sim.otherRequests('px01')).toBe(1), { timeout: 10_000 });
    await sim.setPhase('px01', 'rebooting');
    await expect(pending).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|ERR_STREAM_PREMATURE_CLOSE/) });
  });
});

describe('upstream traffic', () => {
  it('serves / and /stream with x-sim-node, in maintenance too, counting them apart from probes', async () => {
    const sim = await startSim({ nodes: [{ name: 'px07', phase: 'maintenance' }] });
    const base = `http://127.0.0.1:${sim.node('px07')?.port}`;

    const root = await get(`${base}/`);
    expect(root.status).toBe(200);
    expect(root.body).toBe('px07\n');
    expect(root.headers['x-sim-node']).toBe('px07');

    const stream = await get(`${base}/stream?seconds=0.3&interval_ms=50`);
    expect(stream.status).toBe(400);
    const started = Date.now();
    const streamed = await get(`${base}/stream?seconds=1&interval_ms=100`, { timeoutMs: 5000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(streamed.headers['x-sim-node']).toBe('px07');
    const lines = streamed.body.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(9);
    expect(lines[0]).toBe('px07 1');

    const probe = await get(statusUrl(sim, 'px07'));
    expect(probe.headers['x-sim-node']).toBe('px07');
    expect(sim.otherRequests('px07')).toBe(3);
    expect(sim.probeRequests('px07')).toBe(1);
    sim.resetCounters();
    expect(sim.otherRequests('px07')).toBe(0);
    expect(sim.probeRequests('px07')).toBe(0);
  });
});

describe('faults', () => {
  it('adds latency before answering', async () => {
    const sim = await startSim({ nodes: 1 });
    sim.setFaults('px01', { latency_ms: 250 });
    const started = Date.now();
    expect((await get(statusUrl(sim, 'px01'))).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
  });

  it('hangs, resets, and answers chosen status codes with a JSON body', async () => {
    const sim = await startSim({ nodes: 1 });
    const url = statusUrl(sim, 'px01');

    sim.setFaults('px01', { hang: true });
    expect((await failure(url, { timeoutMs: 200 })).name).toBe('AbortError');

    sim.setFaults('px01', { reset: true });
    expect((await failure(url)).code).toBe('ECONNRESET');

    for (const code of [404, 500]) {
      sim.setFaults('px01', { status: code });
      const res = await get(url);
      expect(res.status).toBe(code);
      expect(JSON.parse(res.body)).toMatchObject({ status: 'failed' });
    }

    sim.clearFaults('px01');
    expect((await get(url)).status).toBe(200);
    expect(sim.node('px01')?.faults).toEqual({});
  });

  it('answers HTML, a 10 MiB body, or a never-ending trickle when told to', async () => {
    const sim = await startSim({ nodes: 1 });
    const url = statusUrl(sim, 'px01');

    sim.setFaults('px01', { non_json: true });
    const html = await get(url);
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(() => JSON.parse(html.body)).toThrow();

    sim.setFaults('px01', { huge_body: true });
    const huge = await get(url, { timeoutMs: 10_000 });
    expect(huge.status).toBe(200);
    expect(huge.bytes).toBe(HUGE_BODY_BYTES);
    expect(huge.bytes).toBe(10 * 1024 * 1024);

    sim.setFaults('px01', { trickle: true });
    let seen = 0;
    let status = 0;
    const started = Date.now();
    const error = await new Promise<{ name?: string }>((resolve) => {
      const req = request(url, { agent: false, signal: AbortSignal.timeout(1300) }, (res) => {
        status = res.statusCode ?? 0;
        res.on('data', (chunk: Buffer) => (seen += chunk.length));
        res.on('error', resolve);
      });
      req.on('error', resolve);
      req.end();
    });
    expect(status).toBe(200);
    expect(error.name).toBe('AbortError');
    expect(seen).toBeGreaterThanOrEqual(1);
    // One byte per 500 ms: never a burst, however late the abort fires on a busy machine.
    expect(seen).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 500) + 1);
  });

  it('rejects invalid faults with a clear message', async () => {
    const sim = await startSim({ nodes: 1 });
    expect(() => sim.setFaults('px01', { latency_ms: -1 })).toThrow(/latency_ms/);
    expect(() => sim.setFaults('px01', { status: 42 })).toThrow(/faults.status/);
    expect(() => sim.setFaults('px01', { bogus: true } as never)).toThrow(/unknown field/);
    expect(() => sim.setFaults('px99', {})).toThrow(/no node named "px99"/);
  });
});

describe('https', () => {
  it('verifies with the test CA and is rejected with an unrelated CA', async () => {
    const tls = testTls();
    const sim = await startSim({ nodes: 2, tls: true });
    const url = statusUrl(sim, 'px01');
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/api\/client\/v2\/status$/);

    const ok = await get(url, { ca: tls.ca });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-sim-node']).toBe('px01');

    const bad = await failure(url, { ca: tls.otherCa });
    expect(bad.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/);

    await sim.setPhase('px02', 'maintenance');
    expect((await get(statusUrl(sim, 'px02'), { ca: tls.ca, servername: 'node.sim.test' })).status).toBe(503);

    sim.setFaults('px01', { reset: true });
    expect((await failure(url, { ca: tls.ca })).code).toBe('ECONNRESET');
  });
});

describe('addressing', () => {
  it('gives 300 nodes their own 127.x addresses on one shared port, identified by listener', async () => {
    const tls = testTls();
    const sim = await startSim({ nodes: 300, addressing: 'addresses', tls: true });
    const nodes = sim.nodes();
    expect(nodes).toHaveLength(300);
    expect(nodes[0]?.name).toBe('px001');
    expect(new Set(nodes.map((n) => n.address)).size).toBe(300);
    expect(new Set(nodes.map((n) => n.port)).size).toBe(1);
    expect(nodes[0]?.address).toBe('127.1.0.1');
    expect(nodes[253]?.address).toBe('127.1.0.254');
    expect(nodes[254]?.address).toBe('127.1.1.1');

    await sim.setPhase('px150', 'maintenance');
    // Every node on its own address, each a fresh TLS handshake: modest batches, generous deadlines.
    const options = { ca: tls.ca, servername: 'node.sim.test', headers: { host: 'wrong.example' }, timeoutMs: 20_000 };
    for (let i = 0; i < nodes.length; i += 20) {
      const batch = nodes.slice(i, i + 20);
      const results = await Promise.all(batch.map((n) => get(n.statusUrl, options)));
      results.forEach((res, j) => {
        const node = batch[j];
        expect(res.headers['x-sim-node']).toBe(node?.name);
        expect(res.status).toBe(node?.name === 'px150' ? 503 : 200);
      });
    }
    expect(sim.probeRequests('px300')).toBe(1);

    const added = await sim.addNode();
    expect(added.name).toBe('px301');
    expect(added.port).toBe(nodes[0]?.port);
    expect((await get(added.statusUrl, { ca: tls.ca, servername: 'node.sim.test' })).status).toBe(200);
  });

  it('names nodes px01.. and gives each its own port on 127.0.0.1 by default', async () => {
    const sim = await startSim({ nodes: 3 });
    const nodes = sim.nodes();
    expect(nodes.map((n) => n.name)).toEqual(['px01', 'px02', 'px03']);
    expect(nodes.every((n) => n.address === '127.0.0.1')).toBe(true);
    expect(new Set(nodes.map((n) => n.port)).size).toBe(3);
  });

  it('refuses to bind outside loopback', async () => {
    await expect(Simulator.start({ nodes: 1, addressing: 'addresses', baseAddress: '10.0.0.1' })).rejects.toThrow(/127\.0\.0\.0\/8/);
  });
});

describe('lifecycle', () => {
  it('adds and removes nodes at run time; a removed node refuses connections', async () => {
    const sim = await startSim({ nodes: 1 });
    const added = await sim.addNode({ name: 'edge-1', phase: 'maintenance', reason: 'Azure maintenance' });
    expect((await get(added.statusUrl)).status).toBe(503);
    await expect(sim.addNode({ name: 'edge-1' })).rejects.toMatchObject({ code: 'SIM_DUPLICATE_NODE' });
    expect(await sim.removeNode('edge-1')).toBe(true);
    expect(await sim.removeNode('edge-1')).toBe(false);
    expect((await failure(added.statusUrl)).code).toBe('ECONNREFUSED');
    expect(sim.nodes().map((n) => n.name)).toEqual(['px01']);
  });

  it('closes gracefully even with hanging and trickling requests, and close and destroy are idempotent', async () => {
    // A grace longer than the test timeout: close() only finishes if stuck responses are cut at once.
    const sim = await Simulator.start({ nodes: 2, control: true, closeGraceMs: 60_000 });
    onTestFinished(() => sim.destroy());
    sim.setFaults('px01', { hang: true });
    sim.setFaults('px02', { trickle: true });
    const hanging = failure(statusUrl(sim, 'px01'), { timeoutMs: 20_000 });
    const trickling = failure(statusUrl(sim, 'px02'), { timeoutMs: 20_000 });
    await vi.waitFor(() => expect(sim.probeRequests('px01') + sim.probeRequests('px02')).toBe(2), { timeout: 10_000 });
    await Promise.all([sim.close(), sim.close()]);
    sim.destroy();
    await sim.close();
    expect((await hanging).code).toMatch(/ECONNRESET|ERR_STREAM_PREMATURE_CLOSE/);
    expect((await trickling).code).toMatch(/ECONNRESET|ERR_STREAM_PREMATURE_CLOSE|ABORT_ERR/);
    expect((await failure(statusUrl(sim, 'px01'))).code).toBe('ECONNREFUSED');
  });

  it('lets idle keep-alive connections go on close', async () => {
    const sim = await Simulator.start({ nodes: 1 });
    onTestFinished(() => sim.destroy());
    const socket = connect(sim.node('px01')?.port ?? 0, '127.0.0.1');
    onTestFinished(() => {
      socket.destroy();
    });
    socket.write('GET /api/client/v2/status HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await sim.close();
    await closed;
  });
});
