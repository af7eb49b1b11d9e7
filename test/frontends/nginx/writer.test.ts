// The NGINX writer with fake commands: atomic writes, restore on a failed test, debounced reloads, command runner.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { StateCore } from '../../../src/core/state.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/operator/metrics/registry.js';
import { NginxWriter, runCommand } from '../../../src/frontends/nginx/writer.js';
import type { CommandRunner } from '../../../src/frontends/nginx/writer.js';
import type { NginxUpstreamConfig } from '../../../src/config/schema.js';
import { stringify } from 'yaml';
import { loadConfigText } from '../../../src/config/load.js';
import { startTestService, waitFor } from '../../helpers/service.js';

const POLICY = { min_weight: 1, weight_step: 5, degraded_load: 90, guard_down_fraction: 0.5, guard_min_nodes: 3 };

type Setup = {
  core: StateCore;
  writer: NginxWriter;
  file: string;
  dir: string;
  calls: string[];
  metrics: Metrics;
  /** Next test-command results (true = pass); defaults to pass. */
  testResults: boolean[];
  reloadResults: boolean[];
};

async function setup(options: Partial<NginxUpstreamConfig> = {}, initial?: string): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-nginx-writer-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'pexip-upstream.conf');
  if (initial !== undefined) writeFileSync(file, initial);
  const core = new StateCore({
    nodes: ['px01', 'px02', 'px03'].map((name, i) => ({ name, address: `10.0.0.${i + 1}`, port: 443, statusUrl: '', source: 'static' as const })),
    rise: 1, fall: 1, maxAgeMs: 60_000, policy: POLICY,
  });
  onTestFinished(() => core.close());
  for (const name of ['px01', 'px02', 'px03']) ready(core, name);
  core.flush();
  const calls: string[] = [];
  const testResults: boolean[] = [];
  const reloadResults: boolean[] = [];
  const run: CommandRunner = async (argv) => {
    calls.push(argv.join(' '));
    const ok = (argv[1] === '-t' ? testResults.shift() : reloadResults.shift()) ?? true;
    return { ok, code: ok ? 0 : 1, signal: null, timedOut: false, output: ok ? '' : 'nginx: [emerg] simulated failure' };
  };
  const metrics = new Metrics({ processMetrics: false });
  const upstream: NginxUpstreamConfig = {
    name: 'pexip', file, test_command: ['nginx', '-t'], reload_command: ['nginx', '-s', 'reload'],
    settle: 50, min_reload_interval: 200, command_timeout: 1000, read_interval: 2000, ...options,
  };
  const writer = new NginxWriter({ upstream, source: core, logger: silentLogger, metrics, run });
  onTestFinished(() => writer.close());
  await writer.start();
  return { core, writer, file, dir, calls, metrics, testResults, reloadResults };
}

function ready(core: StateCore, name: string): void {
  core.setOverride(name, { state: 'ready', reason: 'test', by: 'test', setAt: Date.now(), expiresAt: null });
}

function drain(core: StateCore, name: string, reason = 'Software upgrade'): void {
  core.setOverride(name, { state: 'drain', reason, by: 'test', setAt: Date.now(), expiresAt: null });
}

/** Fake timers and Date for tests that check that nothing happened; setImmediate stays real (the core publishes with it). */
function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  onTestFinished(() => {
    vi.useRealTimers();
  });
}

/** Moves fake time forward in 10 ms steps, letting each write/test/reload that falls due run to its end. */
async function passTime(writer: NginxWriter, ms: number): Promise<void> {
  for (let at = 0; at < ms; at += 10) {
    await new Promise((resolve) => setImmediate(resolve));
    await vi.advanceTimersByTimeAsync(10);
    await writer.idle();
  }
}

async function count(metrics: Metrics, family: 'nginxRenders' | 'nginxReloads', result: string): Promise<number> {
  const values = (await metrics[family].get()).values;
  return values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('NginxWriter', () => {
  it('writes the rendering, tests it, then reloads, once after the settle window', async () => {
    const s = await setup();
    await waitFor(() => s.calls.length === 2, 2000);
    expect(s.calls).toEqual(['nginx -t', 'nginx -s reload']);
    expect(readFileSync(s.file, 'utf8')).toBe(s.writer.rendering().text);
    expect(readFileSync(s.file, 'utf8')).toContain('server 10.0.0.2:443 weight=100; # px02 ready');
    expect(readdirSync(s.dir)).toEqual(['pexip-upstream.conf']); // no temp file left behind
    expect(await count(s.metrics, 'nginxRenders', 'written')).toBe(1);
    expect(await count(s.metrics, 'nginxReloads', 'ok')).toBe(1);
  });

  it('does not rewrite or reload when the file on disk already says the same', async () => {
    useFakeClock();
    const first = await setup();
    await passTime(first.writer, 100);
    expect(first.calls).toHaveLength(2);
    const s = await setup({}, readFileSync(first.file, 'utf8'));
    await passTime(s.writer, 1000);
    expect(s.calls).toEqual([]);
    // A change of comment only (the reason of a draining node) is no reason to reload either.
    drain(s.core, 'px02', 'one reason');
    s.core.flush();
    await passTime(s.writer, 300);
    expect(s.calls).toHaveLength(2);
    drain(s.core, 'px02', 'another reason');
    s.core.flush();
    await passTime(s.writer, 1000);
    expect(s.calls).toHaveLength(2);
  });

  it('restores the previous file and does not reload when the test command fails', async () => {
    const previous = '# the operator\'s file\nserver 10.0.0.9:443 weight=7;\n';
    const s = await setup({}, previous);
    s.testResults.push(false);
    await waitFor(async () => (await count(s.metrics, 'nginxRenders', 'test_failed')) === 1, 2000);
    expect(readFileSync(s.file, 'utf8')).toBe(previous);
    expect(s.calls).toEqual(['nginx -t']);
    // Not tested again on every snapshot, but retried by itself after a back-off (issue 12):
    // a failing test is often transient, and nothing else would ever retry it.
    drain(s.core, 'px01');
    await waitFor(() => s.calls.length === 3, 5000);
    expect(s.calls).toEqual(['nginx -t', 'nginx -t', 'nginx -s reload']);
    expect(readFileSync(s.file, 'utf8')).toContain('server 10.0.0.1:443 down; # px01 draining: operator override: Software upgrade');
  });

  it('removes the new file when the test fails and there was no file before', async () => {
    const s = await setup();
    s.testResults.push(false);
    await waitFor(async () => (await count(s.metrics, 'nginxRenders', 'test_failed')) === 1, 2000);
    expect(existsSync(s.file)).toBe(false);
  });

  it('reloads at most twice for ten flips of one node within a second', async () => {
    useFakeClock();
    const s = await setup({ settle: 100, min_reload_interval: 600 });
    await passTime(s.writer, 200);
    expect(s.calls).toHaveLength(2);
    await passTime(s.writer, 650);
    const before = s.calls.length;
    for (let i = 0; i < 10; i += 1) {
      if (i % 2 === 0) drain(s.core, 'px03');
      else ready(s.core, 'px03');
      s.core.flush();
      await passTime(s.writer, 90);
    }
    await passTime(s.writer, 100 + 600 + 300);
    const reloads = s.calls.slice(before).filter((c) => c.includes('reload')).length;
    expect(reloads).toBeLessThanOrEqual(2);
    expect(readFileSync(s.file, 'utf8')).toContain('# px03 ready');
  });

  it('retries a failed reload later', async () => {
    useFakeClock();
    const s = await setup({ min_reload_interval: 100 });
    s.reloadResults.push(false);
    await passTime(s.writer, 200);
    expect(await count(s.metrics, 'nginxReloads', 'ok')).toBe(0);
    await passTime(s.writer, 1000); // the first retry waits at least a second
    expect(await count(s.metrics, 'nginxReloads', 'ok')).toBe(1);
    expect(await count(s.metrics, 'nginxReloads', 'failed')).toBe(1);
    expect(s.calls).toEqual(['nginx -t', 'nginx -s reload', 'nginx -s reload']);
  });

  it('sets the fail-open gauge while no node is ready', async () => {
    const s = await setup();
    for (const name of ['px01', 'px02', 'px03']) drain(s.core, name);
    s.core.flush();
    expect((await s.metrics.nginxFailOpen.get()).values[0]?.value).toBe(1);
    expect(s.writer.rendering().usable).toBe(3);
    ready(s.core, 'px01');
    s.core.flush();
    expect((await s.metrics.nginxFailOpen.get()).values[0]?.value).toBe(0);
  });
});

describe('runCommand', () => {
  it('passes arguments without a shell', async () => {
    const result = await runCommand(['echo', 'a; touch /tmp/x $(id) `id`'], 2000);
    expect(result).toMatchObject({ ok: true, code: 0, timedOut: false, output: 'a; touch /tmp/x $(id) `id`' });
  });

  it('reports a non-zero exit and a missing program as failures', async () => {
    expect((await runCommand(['false'], 2000)).ok).toBe(false);
    const missing = await runCommand(['/nonexistent/nginx', '-t'], 2000);
    expect(missing.ok).toBe(false);
    expect(missing.output).toContain('ENOENT');
  });

  it('kills the whole process group when aborted, grandchildren included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drainwatch-abort-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const pidFile = join(dir, 'pid');
    const controller = new AbortController();
    // The shell starts a grandchild and waits for it: killing only the shell would orphan the sleep.
    const running = runCommand(['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`], 30_000, controller.signal);
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 5000, 10, 'the grandchild pid');
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ ok: false, aborted: true, timedOut: false });
    await waitFor(() => {
      try {
        process.kill(grandchild, 0);
        return readFileSync(`/proc/${grandchild}/stat`, 'utf8').includes(') Z');
      } catch {
        return true;
      }
    }, 5000, 10, 'the grandchild to be gone');
    expect((await runCommand(['true'], 1000, controller.signal)).aborted).toBe(true); // an aborted signal starts nothing
  });

  it('kills a command that outlives its timeout', async () => {
    const started = Date.now();
    const result = await runCommand(['sleep', '5'], 200);
    expect(result.ok).toBe(false);
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(4000);
  });
});

describe('GET /nginx/{upstream}.conf', () => {
  it('serves the current rendering and 404 for an unknown upstream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drainwatch-nginx-route-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const dw = await startTestService({
      nodes: [{ name: 'px01', address: '127.0.0.1', port: 1, status_url: 'http://127.0.0.1:1/api/client/v2/status' }],
      nginx: { upstreams: [{ name: 'pexip', file: join(dir, 'up.conf'), test_command: ['true'], reload_command: ['true'], settle: '10ms' }] },
    });
    onTestFinished(() => dw.close());
    const reply = await fetch(`${dw.url}/nginx/pexip.conf`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await reply.text()).toMatch(/^# drainwatch upstream "pexip".*\n(#.*\n)*server 127\.0\.0\.1:1 /);
    const missing = await fetch(`${dw.url}/nginx/nope.conf`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('/nginx/pexip.conf');
    expect((await fetch(`${dw.url}/nginx/pexip`)).status).toBe(404);
    await waitFor(() => existsSync(join(dir, 'up.conf')), 3000);
  });
});

describe('config reload', () => {
  it('adds and removes upstream writers when nginx.upstreams changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drainwatch-nginx-reload-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const upstream = (name: string) => ({ name, file: join(dir, `${name}.conf`), test_command: ['true'], reload_command: ['true'], settle: '10ms' });
    const base = {
      nodes: [{ name: 'px01', address: '127.0.0.1', port: 1, status_url: 'http://127.0.0.1:1/api/client/v2/status' }],
      http: { listen: '127.0.0.1:0' }, haproxy: { agent: null }, log: { level: 'silent' },
    };
    const dw = await startTestService({ ...base, nginx: { upstreams: [upstream('first')] } });
    onTestFinished(() => dw.close());
    const next = loadConfigText(stringify({ ...base, nginx: { upstreams: [upstream('second')] } }), { baseDir: dir, env: {} }, 'reloaded');
    if (!next.ok) throw new Error(next.errors.join('\n'));
    await dw.service.reload(next);
    expect((await fetch(`${dw.url}/nginx/first.conf`)).status).toBe(404);
    expect((await fetch(`${dw.url}/nginx/second.conf`)).status).toBe(200);
    await waitFor(() => existsSync(join(dir, 'second.conf')), 3000);
  });
});
