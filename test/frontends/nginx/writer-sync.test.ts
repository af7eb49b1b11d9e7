// The NGINX writer's closed loop: retries after a failed test, SIGHUP retries at once, the file on disk verified and repaired, sync statuses.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { LoadBalancerSync } from '../../../src/core/lb-sync.js';
import { StateCore } from '../../../src/core/state.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/operator/metrics/registry.js';
import { NginxWriter } from '../../../src/frontends/nginx/writer.js';
import { nginxTargetId } from '../../../src/frontends/nginx/read-back.js';
import type { CommandRunner } from '../../../src/frontends/nginx/writer.js';
import type { NginxUpstreamConfig } from '../../../src/config/schema.js';

const POLICY = { min_weight: 1, weight_step: 5, degraded_load: 90, guard_down_fraction: 0.5, guard_min_nodes: 3 };
const ID = nginxTargetId('pexip');

async function setup(options: { file?: (dir: string) => string } = {}) {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  onTestFinished(() => {
    vi.useRealTimers();
  });
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-nginx-sync-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = options.file?.(dir) ?? join(dir, 'pexip-upstream.conf');
  const core = new StateCore({
    nodes: ['px01', 'px02'].map((name, i) => ({ name, address: `10.0.0.${i + 1}`, port: 443, statusUrl: '', source: 'static' as const })),
    rise: 1, fall: 1, maxAgeMs: 600_000, policy: POLICY,
  });
  onTestFinished(() => core.close());
  for (const name of ['px01', 'px02']) core.setOverride(name, { state: 'ready', reason: 'test', by: 'test', setAt: Date.now(), expiresAt: null });
  core.flush();
  const calls: Array<{ at: number; command: string }> = [];
  const state = { testPasses: true };
  const run: CommandRunner = async (argv) => {
    calls.push({ at: Date.now(), command: argv.join(' ') });
    const ok = argv[1] === '-t' ? state.testPasses : true;
    return { ok, code: ok ? 0 : 1, signal: null, timedOut: false, output: ok ? '' : 'nginx: [emerg] cannot load certificate "/etc/nginx/tls/pexip.pem"' };
  };
  const sync = new LoadBalancerSync();
  const upstream: NginxUpstreamConfig = {
    name: 'pexip', file, test_command: ['nginx', '-t'], reload_command: ['nginx', '-s', 'reload'],
    settle: 50, min_reload_interval: 200, command_timeout: 1000, read_interval: 500,
  };
  const writer = new NginxWriter({ upstream, source: core, logger: silentLogger, metrics: new Metrics({ processMetrics: false }), run, sync, readIntervalMs: 500 });
  onTestFinished(() => writer.close());
  await writer.start();
  const pass = async (ms: number) => {
    for (let at = 0; at < ms; at += 10) {
      await new Promise((resolve) => setImmediate(resolve));
      await vi.advanceTimersByTimeAsync(10);
      await writer.idle();
    }
  };
  /** Passes fake time until `check` holds (real file I/O may finish a few steps late on a loaded machine). */
  const until = async (check: () => boolean, maxMs: number): Promise<void> => {
    for (let at = 0; at < maxMs && !check(); at += 10) await pass(10);
  };
  return { core, writer, file, calls, state, sync, upstream, pass, until, target: () => sync.get(ID)! };
}

describe('NginxWriter closed loop', () => {
  it('retries a failed test by itself, 1 s then doubling, and shows the target diverged meanwhile', async () => {
    const s = await setup();
    s.state.testPasses = false;
    await s.pass(100);
    await s.until(() => s.target().status === 'diverged', 800); // the report follows a real file read
    expect(s.calls.map((call) => call.command)).toEqual(['nginx -t']);
    expect(s.target()).toMatchObject({ kind: 'nginx', target: s.file, status: 'diverged' });
    expect(s.target().reason).toMatch(/^test_command failed \(exit 1\): nginx: \[emerg\] cannot load certificate/);
    await s.pass(3200);
    const tests = s.calls.filter((call) => call.command === 'nginx -t').map((call) => call.at - s.calls[0]!.at);
    expect(tests).toHaveLength(3); // at 0, ~1 s and ~3 s: no verdict changed in between
    expect(tests[1]).toBeGreaterThanOrEqual(1000);
    expect(tests[2]! - tests[1]!).toBeGreaterThanOrEqual(2000);
    s.state.testPasses = true;
    await s.pass(4200);
    expect(s.calls.at(-1)!.command).toBe('nginx -s reload');
    expect(readFileSync(s.file, 'utf8')).toBe(s.writer.rendering().text);
    await s.until(() => s.target().status === 'in_sync', 600 + 2000);
    expect(s.target().status).toBe('in_sync');
  });

  it('never backs off more than 30 s', async () => {
    const s = await setup();
    s.state.testPasses = false;
    await s.pass(100 + 1000 + 2000 + 4000 + 8000 + 16_000 + 30_000 + 30_000 + 100);
    const tests = s.calls.map((call) => call.at);
    const gaps = tests.slice(1).map((at, i) => at - tests[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(30_000 + 60);
    expect(gaps.at(-1)).toBeGreaterThanOrEqual(30_000);
  });

  it('retries at once when the config is reloaded (SIGHUP), without waiting for the back-off', async () => {
    const s = await setup();
    s.state.testPasses = false;
    await s.pass(1200 + 2100); // two failed retries: the next one is 4 s away
    const before = s.calls.length;
    s.state.testPasses = true;
    s.writer.update({ ...s.upstream, test_command: ['nginx', '-t', '-q'] });
    await s.pass(200); // settle (50 ms) plus a little
    expect(s.calls.slice(before).map((call) => call.command)).toEqual(['nginx -t -q', 'nginx -s reload']);
    await s.until(() => s.target().status === 'in_sync', 600 + 2000);
    expect(s.target().status).toBe('in_sync');
  });

  it('rewrites the file when someone changes it on disk, and counts the repair', async () => {
    const s = await setup();
    await s.until(() => s.target().status === 'in_sync', 700 + 2000);
    expect(s.target().status).toBe('in_sync');
    writeFileSync(s.file, readFileSync(s.file, 'utf8').replace('server 10.0.0.1:443 weight=100;', 'server 10.0.0.1:443 down;'));
    await s.until(() => s.target().repairs === 1, 2000);
    expect(s.target()).toMatchObject({ repairs: 1 });
    await s.until(() => readFileSync(s.file, 'utf8') === s.writer.rendering().text && s.target().status === 'in_sync', 3000);
    expect(readFileSync(s.file, 'utf8')).toBe(s.writer.rendering().text);
    expect(s.target().status).toBe('in_sync');
  });

  it('calls a file that is a directory unreachable with its reason, and keeps going', async () => {
    const s = await setup({ file: (dir) => { mkdirSync(join(dir, 'upstream.conf')); return join(dir, 'upstream.conf'); } });
    await s.until(() => s.target().status === 'unreachable', 1200 + 2000);
    expect(s.target().status).toBe('unreachable');
    expect(s.target().reason).toMatch(/^cannot read .*upstream\.conf: EISDIR/);
  });
});
