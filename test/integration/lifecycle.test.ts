// The real CLI process: readiness, SIGHUP reload (broken config rejected, valid one applied), SIGTERM exit, also while a reload command hangs.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SHUTDOWN_GRACE_MS } from '../../src/cli/signals.js';
import { childrenNamed, freePort, startCliProcess, useCliFixture } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/service.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// One process (no tsx wrapper in between) so signals reach drainwatch itself.
const NODE_ARGS = ['--import', 'tsx'];

const fixture = useCliFixture(4, 'drainwatch-lifecycle-');

function configFor(names: string[], httpPort: number, extra: Record<string, unknown> = {}): string {
  return stringify({
    nodes: fixture.sim.nodes().filter((n) => names.includes(n.name)).map((n) => ({ name: n.name, address: n.address, port: n.port, status_url: n.statusUrl })),
    // Generous timings: a loaded machine must not turn a slow loopback answer into "down".
    probe: { interval: '1s', timeout: '900ms', max_age: '10s', rise: 1, fall: 3 },
    http: { listen: `127.0.0.1:${httpPort}` },
    haproxy: { agent: null },
    log: { level: 'info' },
    ...extra,
  });
}


async function states(base: string): Promise<string> {
  const body = (await (await fetch(`${base}/api/v1/nodes`)).json()) as { nodes: Array<{ name: string; state: string }> };
  return body.nodes.map((n) => `${n.name}:${n.state}`).join(',');
}

/** True while `pid` is a live process (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('drainwatch process lifecycle', () => {
  it('reloads on SIGHUP: a broken config is rejected and logged, a valid one changes the node list', async () => {
    const port = await freePort();
    const file = join(fixture.dir, 'drainwatch.yaml');
    writeFileSync(file, configFor(['px01', 'px02'], port));
    const { child, logs, exited } = startCliProcess(['--config', file]);
    const base = `http://127.0.0.1:${port}`;

    await waitFor(() => logs().includes('drainwatch started'), 30_000, 50, 'start-up log');
    // /readyz only says every node has a first verdict; wait for the verdicts themselves.
    await waitFor(async () => (await states(base)) === 'px01:ready,px02:ready', 20_000, 100, 'both nodes ready');

    writeFileSync(file, 'nodes:\n  - { name: px01 }\nprobe: { bogus: 1 }\n');
    child.kill('SIGHUP');
    await waitFor(() => logs().includes('config reload rejected'), 20_000, 50, 'rejection log');
    expect(logs()).toContain('nodes[0].address: is required');
    expect(logs()).toContain('probe.bogus: unknown key');
    expect(await states(base)).toBe('px01:ready,px02:ready');

    writeFileSync(file, configFor(['px02', 'px03', 'px04'], port));
    child.kill('SIGHUP');
    await waitFor(() => logs().includes('config reloaded'), 20_000, 50, 'reload log');
    await waitFor(async () => (await states(base)) === 'px02:ready,px03:ready,px04:ready', 20_000, 100, 'new node list');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logs()).toContain('drainwatch stopped');
  }, 90_000);

  it('exits 0 on SIGTERM within the grace period plus one second while an NGINX reload command hangs, leaving no child behind', async () => {
    const port = await freePort();
    const file = join(fixture.dir, 'hanging.yaml');
    const upstreamFile = join(fixture.dir, 'hanging-upstream.conf');
    const nginx = { upstreams: [{ name: 'pexip', file: upstreamFile, test_command: ['true'], reload_command: ['sleep', '60'], settle: '10ms' }] };
    writeFileSync(file, configFor(['px01'], port, { nginx }));
    const { child, logs, exited } = startCliProcess(['--config', file]);
    const pid = child.pid as number;

    // The first rendering is written, tested with `true`, then `sleep 60` runs as the reload.
    const sleeps = (await waitFor(() => {
      const found = childrenNamed(pid, 'sleep');
      return found.length > 0 ? found : null;
    }, 30_000, 50, 'the reload command to be running')) as number[];
    expect(existsSync(upstreamFile)).toBe(true);

    const sentAt = performance.now();
    child.kill('SIGTERM');
    const code = await exited;
    const tookMs = performance.now() - sentAt;
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(SHUTDOWN_GRACE_MS + 1000);
    expect(logs()).toContain('grace period over');
    expect(logs()).toContain('drainwatch stopped');
    // Killed with its process group and reaped (or at most a zombie for init to reap).
    await waitFor(() => sleeps.every((sleep) => !alive(sleep)), 5000, 20, 'the sleep child to be gone');
  }, 90_000);

  it('exits 2 and lists every problem for --check-config on a bad file, 0 on a good one', async () => {
    const bad = join(fixture.dir, 'bad.yaml');
    writeFileSync(bad, 'nodes:\n  - { name: px01, address: a }\n  - { name: px01, address: b }\nprobe: { interval: 1s, timeout: 2s }\n');
    const good = join(fixture.dir, 'good.yaml');
    writeFileSync(good, 'nodes:\n  - { name: px01, address: 10.0.0.1 }\n');
    const run = (path: string) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(process.execPath, [...NODE_ARGS, 'src/cli/main.ts', '--check-config', path], { cwd: ROOT });
        let output = '';
        child.stdout.on('data', (c: Buffer) => (output += c.toString()));
        child.stderr.on('data', (c: Buffer) => (output += c.toString()));
        child.on('exit', (code) => resolve({ code, output }));
      });
    const badResult = await run(bad);
    expect(badResult.code).toBe(2);
    expect(badResult.output).toContain('2 problem(s)');
    expect(badResult.output).toContain('nodes[1].name: "px01" is already used by nodes[0]');
    expect(badResult.output).toContain('probe.timeout: must be shorter than probe.interval');
    const goodResult = await run(good);
    expect(goodResult.code).toBe(0);
    expect(goodResult.output).toContain('valid');
  }, 60_000);
});
