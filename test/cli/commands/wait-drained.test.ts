// `drainwatch wait-drained` against a running drainwatch and the simulated Management Node.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { run } from '../../../src/cli/commands/wait-drained.js';
import { waitFor } from '../../helpers/service.js';
import { INTERVAL_MS, nodeJson, startFleet, startServiceAgainst } from '../../sources/management/helpers.js';
import type { AddressInfo } from 'node:net';

function captureIo() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: { write: (text: string) => (out.stdout += text) },
      stderr: { write: (text: string) => (out.stderr += text) },
    },
  };
}

describe('drainwatch wait-drained', () => {
  it('returns 0 within one management interval of the node\'s calls reaching zero', async () => {
    const sim = await startFleet();
    sim.setCalls('px01', 3);
    const { service, url } = await startServiceAgainst(sim);
    await sim.setPhase('px01', 'maintenance', 'Upgrade');
    await waitFor(async () => (await nodeJson(url, 'px01'))?.state === 'draining', 15000, 25, 'px01 draining');
    const { out, io } = captureIo();
    const exit = run(['px01', '--url', url, '--interval', '50ms', '--timeout', '30s'], io);
    await waitFor(() => out.stderr.includes('px01 is draining with 3 call(s) left'), 15000, 10, 'progress line');
    const zeroAt = Date.now();
    sim.setCalls('px01', 0);
    expect(await exit).toBe(0);
    expect(out.stdout).toMatch(/^px01 is drained: draining, 0 calls since \d{4}-\d\d-\d\dT/);
    // drained_since is the start of the first sweep that saw no calls: the next sweep after the change,
    // due within one interval (+10% jitter); 500 ms slack for timer lateness on a loaded machine.
    const drainedSince = Date.parse((out.stdout.split(' since ')[1] ?? '').trim());
    expect(drainedSince - zeroAt).toBeLessThanOrEqual(INTERVAL_MS * 1.1 + 500);
    expect(service.managementStatus()?.lastError).toBeNull();
  });

  it('exits non-zero with the reason on timeout', async () => {
    const sim = await startFleet();
    sim.setCalls('px02', 2);
    const { url } = await startServiceAgainst(sim);
    await sim.setPhase('px02', 'maintenance');
    await waitFor(async () => (await nodeJson(url, 'px02'))?.calls === 2, 15000, 25, 'calls seen');
    const { out, io } = captureIo();
    expect(await run(['px02', '--url', url, '--interval', '50ms', '--timeout', '2s'], io)).toBe(1);
    expect(out.stderr).toContain('timed out after 2s: px02 is draining with 2 call(s) left');
    expect(out.stdout).toBe('');
  });

  it('keeps waiting on a ready node and says why on timeout', async () => {
    const sim = await startFleet();
    const { url } = await startServiceAgainst(sim);
    await waitFor(async () => (await nodeJson(url, 'px03'))?.state === 'ready', 15000, 25, 'px03 ready');
    const { out, io } = captureIo();
    expect(await run(['px03', '--url', url, '--interval', '50ms', '--timeout', '1500ms'], io)).toBe(1);
    expect(out.stderr).toContain('px03 is ready, not draining (put it into maintenance first)');
  });

  it('exits 3 for an unknown node and 2 for bad arguments', async () => {
    const sim = await startFleet();
    const { url } = await startServiceAgainst(sim);
    const unknown = captureIo();
    expect(await run(['px99', '--url', url], unknown.io)).toBe(3);
    expect(unknown.out.stderr).toContain('does not know a node named "px99"');
    const bad = captureIo();
    expect(await run(['px01', '--timeout', 'soon'], bad.io)).toBe(2);
    expect(bad.out.stderr).toContain('--timeout "soon" is not a duration');
    expect(await run([], captureIo().io)).toBe(2);
  });

  it('exits 4, not 1, when drainwatch is not running, after a short retry said so on stderr', async () => {
    // A port that just had a listener and has none now: connections are refused.
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const { out, io } = captureIo();
    expect(await run(['px01', '--url', `http://127.0.0.1:${port}`, '--interval', '50ms', '--timeout', '1h', '--connect-timeout', '300ms'], io)).toBe(4);
    expect(out.stderr).toContain(`cannot reach drainwatch at http://127.0.0.1:${port}: ECONNREFUSED (retrying)`);
    expect(out.stderr).toContain('gave up after 300ms');
    const atDeadline = captureIo();
    expect(await run(['px01', '--url', `http://127.0.0.1:${port}`, '--interval', '50ms', '--timeout', '200ms'], atDeadline.io)).toBe(4);
  });

  it('finds drainwatch through --config (http.listen) without the config\'s secrets', async () => {
    const sim = await startFleet();
    const { url } = await startServiceAgainst(sim);
    const dir = mkdtempSync(join(tmpdir(), 'drainwatch-wait-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'config.yaml');
    const listen = new URL(url).host;
    writeFileSync(config, `nodes: [{ name: px01, address: 127.0.0.1 }]\nhttp: { listen: "${listen}", admin_token_env: DW_WAIT_TEST_UNSET }\n`);
    const { out, io } = captureIo();
    expect(await run(['px99', '--config', config], io)).toBe(3);
    expect(out.stderr).toContain(`drainwatch at ${url} does not know a node named "px99"`);
  });

  it('runs as `drainwatch wait-drained` from the command line', async () => {
    const sim = await startFleet();
    sim.setCalls('px01', 0);
    const { url } = await startServiceAgainst(sim);
    await sim.setPhase('px01', 'maintenance');
    await waitFor(async () => (await nodeJson(url, 'px01'))?.drained_since !== null, 15000, 25, 'px01 drained');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'wait-drained', 'px01', '--url', url, '--timeout', '10s'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => {
      try {
        if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(stdout).toContain('px01 is drained');
  }, 30_000);
});
