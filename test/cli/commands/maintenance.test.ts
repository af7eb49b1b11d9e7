// `drainwatch maintenance` against a running drainwatch and the simulator: --wait exit codes, status, cancel, exit, refusals.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_PLAN_FAILED, EXIT_REFUSED, EXIT_TIMEOUT, EXIT_USAGE, run } from '../../../src/cli/commands/maintenance.js';
import { startFleet } from '../../sources/management/helpers.js';
import { ADMIN_TOKEN, ADMIN_TOKEN_ENV, planWhere, ready, scratchDir, startDrainwatch } from '../../operator/api/maintenance-helpers.js';
import type { TestService } from '../../helpers/service.js';

type Io = { stdout: { write(t: string): void }; stderr: { write(t: string): void }; env: NodeJS.ProcessEnv; out: string; err: string };

function io(): Io {
  const result: Io = {
    out: '',
    err: '',
    env: { [ADMIN_TOKEN_ENV]: ADMIN_TOKEN },
    stdout: { write: (t) => void (result.out += t) },
    stderr: { write: (t) => void (result.err += t) },
  };
  return result;
}

/** A config file as the operator's CLI would read it: the token's env var (the test passes --url for the port-0 listener). */
function configFile(): string {
  const file = join(scratchDir(), 'drainwatch.yaml');
  writeFileSync(file, stringify({ nodes: [{ name: 'px01', address: '127.0.0.1' }], http: { listen: '127.0.0.1:9555', admin_token_env: ADMIN_TOKEN_ENV } }));
  return file;
}

function cli(dw: TestService, args: string[], out = io()): Promise<number> {
  const [action, ...rest] = args;
  return run([action as string, '--config', configFile(), '--url', dw.url, '--interval', '100ms', ...rest], out);
}

describe('drainwatch maintenance', () => {
  it('--wait prints progress and exits 0 once every node is drained', async () => {
    const sim = await startFleet({ nodes: [{ name: 'px01', calls: 2 }, { name: 'px02' }, { name: 'px03' }, { name: 'px04' }] });
    const dw = await startDrainwatch(sim);
    await ready(dw, 4);
    const out = io();
    const waiting = cli(dw, ['start', '--reason', 'upgrade', '--spacing', '0s', '--wait', '--timeout', '30s', 'px01', 'px02'], out);
    await planWhere(dw, (p) => p.nodes[0]?.state === 'draining', 'px01 draining');
    sim.setCalls('px01', 0);
    expect(await waiting).toBe(EXIT_OK);
    expect(out.out).toMatch(/^started plan [0-9a-f]{8}: px01, px02$/m);
    expect(out.out).toMatch(/^px01\s+draining\s+2 call\(s\) left/m);
    expect(out.out).toMatch(/^px01\s+drained\s+0 call\(s\) left\s+drained in/m);
    expect(out.out).toMatch(/done: every node is in maintenance with no calls left/);
    expect(sim.node('px01')?.reason).toMatch(/^upgrade \(drainwatch plan [0-9a-f]{8}\)$/);
  });

  it('--wait exits 1 when the timeout passes first', async () => {
    const sim = await startFleet({ nodes: [{ name: 'px01', calls: 5 }, { name: 'px02' }, { name: 'px03' }] });
    const dw = await startDrainwatch(sim);
    await ready(dw, 3);
    const out = io();
    expect(await cli(dw, ['start', '--wait', '--timeout', '1s', 'px01'], out)).toBe(EXIT_TIMEOUT);
    expect(out.err).toMatch(/timed out waiting for plan/);
  });

  it('--wait exits 2 when the plan fails', async () => {
    const sim = await startFleet({ nodes: 3 });
    const dw = await startDrainwatch(sim);
    await ready(dw, 3);
    sim.setManagementFaults({ write_status: 500 });
    const out = io();
    expect(await cli(dw, ['start', '--wait', '--timeout', '30s', 'px01'], out)).toBe(EXIT_PLAN_FAILED);
    expect(out.err).toMatch(/plan [0-9a-f]{8} failed/);
    expect(out.err).toMatch(/HTTP 500/);
  });

  it('shows, cancels and exits, and reports refusals and usage errors', async () => {
    const sim = await startFleet({ nodes: [{ name: 'px01', calls: 1 }, { name: 'px02', calls: 1 }, { name: 'px03' }, { name: 'px04' }] });
    const dw = await startDrainwatch(sim);
    await ready(dw, 4);
    const none = io();
    expect(await cli(dw, ['status'], none)).toBe(EXIT_OK);
    expect(none.out).toBe('no maintenance plan\n');
    expect(await cli(dw, ['start', '--spacing', '10m', 'px01', 'px02'])).toBe(EXIT_OK);
    await planWhere(dw, (p) => p.nodes[0]?.state === 'draining', 'px01 draining');
    const status = io();
    expect(await cli(dw, ['status'], status)).toBe(EXIT_OK);
    expect(status.out).toMatch(/^plan [0-9a-f]{8}: running \(taken out of service; spacing 10m\)/);
    expect(status.out).toMatch(/next: px02 in/);
    const second = io();
    expect(await cli(dw, ['start', 'px03'], second)).toBe(EXIT_REFUSED);
    expect(second.err).toMatch(/HTTP 409/);
    const cancel = io();
    expect(await cli(dw, ['cancel'], cancel)).toBe(EXIT_OK);
    expect(cancel.out).toMatch(/cancelled/);
    const exit = io();
    expect(await cli(dw, ['exit', 'px01'], exit)).toBe(EXIT_OK);
    expect(exit.out).toBe('px01: out of maintenance\n');
    expect(sim.node('px01')?.phase).toBe('up');
    // Without --url the address comes from the config's http.listen.
    const port = new URL(dw.url).port;
    const own = join(scratchDir(), 'own.yaml');
    writeFileSync(own, stringify({ nodes: [{ name: 'px01', address: '127.0.0.1' }], http: { listen: `0.0.0.0:${port}`, admin_token_env: ADMIN_TOKEN_ENV } }));
    const fromConfig = io();
    expect(await run(['status', '--config', own], fromConfig)).toBe(EXIT_OK);
    expect(fromConfig.out).toMatch(/^plan [0-9a-f]{8}: cancelled/);
    const usage = io();
    expect(await run(['start', 'px01'], usage)).toBe(EXIT_USAGE);
    expect(usage.err).toMatch(/--config FILE is required/);
    const badToken = io();
    badToken.env = { [ADMIN_TOKEN_ENV]: 'not-the-token' };
    expect(await cli(dw, ['cancel'], badToken)).toBe(EXIT_REFUSED);
    expect(badToken.err).toMatch(/HTTP 401/);
  });
});
