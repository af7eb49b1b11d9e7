// The real CLI process against hostile config files: too many YAML aliases, a 50 MiB file; and log.level applied on SIGHUP.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { freePort, startCliProcess, useCliFixture } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/service.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_ARGS = ['--import', 'tsx', 'src/cli/main.ts'];

const fixture = useCliFixture(2, 'drainwatch-hardening-');

/** The harmless file from the attack run: 102 nodes, `port: &p 8443` on the first and `port: *p` on the rest. */
function aliasConfig(httpPort: number): string {
  const lines = ['http:', `  listen: "127.0.0.1:${httpPort}"`, 'haproxy:', '  agent: null', 'nodes:'];
  for (let i = 0; i < 102; i += 1) {
    lines.push(`  - name: n${i}`, `    address: 10.0.0.${(i % 250) + 1}`, i === 0 ? '    port: &p 8443' : '    port: *p');
  }
  return `${lines.join('\n')}\n`;
}

function goodConfig(httpPort: number, agentPort: number, level: string): string {
  return stringify({
    nodes: fixture.sim.nodes().map((n) => ({ name: n.name, address: n.address, port: n.port, status_url: n.statusUrl })),
    probe: { interval: '1s', timeout: '900ms', max_age: '10s' },
    http: { listen: `127.0.0.1:${httpPort}` },
    haproxy: { agent: { listen: `127.0.0.1:${agentPort}` } },
    log: { level },
  });
}

function checkConfig(file: string) {
  const started = Date.now();
  const result = spawnSync(process.execPath, [...NODE_ARGS, '--check-config', file], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout, ms: Date.now() - started };
}


/** One agent exchange with a line that is not a node name (logged at debug level only). */
function badAgentLine(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write('not a node!\n'));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.resume();
  });
}

describe('drainwatch CLI against hostile config files', () => {
  it('lists more than 100 YAML aliases as a problem with --check-config (exit 2, no stack trace)', () => {
    const file = join(fixture.dir, 'aliases.yaml');
    writeFileSync(file, aliasConfig(9));
    const result = checkConfig(file);
    expect(result.status).toBe(2);
    expect(result.stderr + result.stdout).toMatch(/YAML aliases/);
    expect(result.stderr).not.toMatch(/ReferenceError|\n\s+at /);
  });

  it('rejects a 50 MiB config quickly, before parsing it', () => {
    const file = join(fixture.dir, 'huge.yaml');
    writeFileSync(file, `nodes:\n${'  # padding padding padding padding padding padding padding padding\n'.repeat(50 * 2 ** 20 / 68)}`);
    const result = checkConfig(file);
    expect(result.status).toBe(2);
    expect(result.stderr + result.stdout).toMatch(/MiB limit/);
    // Node and tsx start-up included; parsing 50 MiB took seconds before.
    expect(result.ms).toBeLessThan(10_000);
  });

  it('keeps serving after a SIGHUP with the alias file, and applies log.level from a later good file', async () => {
    const [httpPort, agentPort] = [await freePort(), await freePort()];
    const file = join(fixture.dir, 'running.yaml');
    writeFileSync(file, goodConfig(httpPort, agentPort, 'info'));
    const cli = startCliProcess(['--config', file]);
    const base = `http://127.0.0.1:${httpPort}`;
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 20_000, 100, 'drainwatch listening');

    writeFileSync(file, aliasConfig(httpPort));
    cli.child.kill('SIGHUP');
    await waitFor(() => /YAML aliases/.test(cli.logs()), 10_000, 50, 'the rejected reload in the log');
    expect(cli.exitCode()).toBeUndefined();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    // At info, a bad agent request leaves no line; after a reload to debug it does.
    await badAgentLine(agentPort);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cli.logs()).not.toContain('not a node name');
    writeFileSync(file, goodConfig(httpPort, agentPort, 'debug'));
    cli.child.kill('SIGHUP');
    await waitFor(() => /config reloaded/.test(cli.logs()), 10_000, 50, 'the good reload in the log');
    await badAgentLine(agentPort);
    await waitFor(() => cli.logs().includes('not a node name'), 5000, 50, 'a debug line after the reload');
    expect(cli.exitCode()).toBeUndefined();
  });
});
