// The real CLI process: readiness, SIGHUP reload (broken config rejected, valid one applied), SIGTERM exit.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from "node:path";
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Simulator } from '../../src/simulator/index.js';
import { waitFor } from '../helpers/service.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// One process (no tsx wrapper in between) so signals reach drainwatch itself.
const NODE_ARGS = ['--import', 'tsx'];

let sim: Simulator;
let dir: string;
beforeAll(async () => {
  sim = await Simulator.start({ nodes: 4, management: false });
  dir = mkdtempSync(join(tmpdir(), 'drainwatch-lifecycle-'));
});
afterAll(() => {
  sim.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function configFor(names: string[], httpPort: number): string {
  return stringify({
    nodes: sim.nodes().filter((n) => names.includes(n.name)).map((n) => ({ name: n.name, address: n.address, port: n.port, status_url: n.statusUrl })),
    probe: { interval: '200ms', timeout: '150ms', max_age: '2s' },
    http: { listen: `127.0.0.1:${httpPort}` },
    haproxy: { agent: null },
    log: { level: 'info' },
  });
}

async function names(base: string): Promise<string[]> {
  const body = (await (await fetch(`${base}/api/v1/nodes`)).json()) as { nodes: Array<{ name: string; state: string }> };
  return body.nodes.map((n) => `${n.name}:${n.state}`);
}

describe('drainwatch process lifecycle', () => {
  it('reloads on SIGHUP: a broken config is rejected and logged, a valid one changes the node list', async () => {
    const port = await freePort();
    const file = join(dir, 'drainwatch.yaml');
    writeFileSync(file, configFor(['px01', 'px02'], port));
    const child = spawn(process.execPath, [...NODE_ARGS, 'src/cli/main.ts', '--config', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    onTestFinished(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        /* already gone */
      }
    });
    let logs = '';
    child.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    const base = `http://127.0.0.1:${port}`;

    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 15_000, 100, 'readyz');
    expect(await names(base)).toEqual(['px01:ready', 'px02:ready']);

    writeFileSync(file, 'nodes:\n  - { name: px01 }\nprobe: { bogus: 1 }\n');
    child.kill('SIGHUP');
    await waitFor(() => logs.includes('config reload rejected'), 5000, 50, 'rejection log');
    expect(logs).toContain('nodes[0].address: is required');
    expect(logs).toContain('probe.bogus: unknown key');
    expect(await names(base)).toEqual(['px01:ready', 'px02:ready']);

    writeFileSync(file, configFor(['px02', 'px03', 'px04'], port));
    child.kill('SIGHUP');
    await waitFor(async () => (await names(base)).join() === 'px02:ready,px03:ready,px04:ready', 5000, 50, 'new node list');
    expect(logs).toContain('config reloaded');

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logs).toContain('drainwatch stopped');
  }, 40_000);

  it('exits 2 and lists every problem for --check-config on a bad file, 0 on a good one', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'nodes:\n  - { name: px01, address: a }\n  - { name: px01, address: b }\nprobe: { interval: 1s, timeout: 2s }\n');
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'nodes:\n  - { name: px01, address: 10.0.0.1 }\n');
    const run = (file: string) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(process.execPath, [...NODE_ARGS, 'src/cli/main.ts', '--check-config', file], { cwd: ROOT });
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
  }, 30_000);
});
