// close() finishes in-flight work, destroy() aborts it now (killing a command's process group); both idempotent.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createNginxFrontend } from '../../src/frontends/nginx/index.js';
import { runCommand } from '../../src/frontends/nginx/writer.js';
import { createAdminApi } from '../../src/operator/api/nodes.js';
import { createHaproxyAgent } from '../../src/frontends/haproxy/agent-server.js';
import { createHaproxyRuntime } from '../../src/frontends/haproxy/runtime-pusher.js';
import { DEFAULT_FRONTENDS } from '../../src/service/service.js';
import { childrenNamed } from '../helpers/cli-process.js';
import { startTestService, waitFor } from '../helpers/service.js';
import type { Socket } from 'node:net';
import type { HaproxyAgentFrontend } from '../../src/frontends/haproxy/agent-server.js';
import type { CommandResult, CommandRunner } from '../../src/frontends/nginx/writer.js';
import type { FrontendFactory } from '../../src/service/service.js';

const NODE = { name: 'px01', address: '127.0.0.1', port: 1, status_url: 'http://127.0.0.1:1/api/client/v2/status' };
const PASSED: CommandResult = { ok: true, code: 0, signal: null, timedOut: false, output: '' };

/** A promise with its resolver, for waiting on one event. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every queued callback run a few times over (no wall-clock wait). */
async function ticks(count = 20): Promise<void> {
  for (let i = 0; i < count; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** Live children of this process with that command name (zombies count as gone). */
function liveChildren(comm: string): number[] {
  return childrenNamed(process.pid, comm, { live: true });
}

/** A service whose only front-ends are the node API and one NGINX upstream whose commands go through `run`. */
async function serviceWithNginx(run: CommandRunner, reloadCommand: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-close-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const frontends: FrontendFactory[] = [createAdminApi, (context) => createNginxFrontend(context, { run })];
  const dw = await startTestService(
    {
      nodes: [NODE],
      haproxy: { agent: null },
      nginx: { upstreams: [{ name: 'pexip', file: join(dir, 'upstream.conf'), test_command: ['true'], reload_command: reloadCommand, settle: '10ms' }] },
    },
    { frontends },
  );
  onTestFinished(async () => {
    await dw.service.destroy();
    await dw.close();
  });
  return dw;
}

/** Runs commands for real; resolves `started` once the reload command (not the `true` test) is running. */
function realRunner(started: { resolve: () => void }, results: CommandResult[]): CommandRunner {
  return async (argv, timeout, signal) => {
    const running = runCommand(argv, timeout, signal); // spawns synchronously: the child exists from here
    if (argv[0] !== 'true') started.resolve();
    const result = await running;
    results.push(result);
    return result;
  };
}

describe('Service.close', () => {
  it('waits for a reload command in flight and lets it finish unaborted', async () => {
    const reloading = deferred<AbortSignal | undefined>();
    const finish = deferred<CommandResult>();
    const run: CommandRunner = (argv, _timeout, signal) => {
      if (argv[0] === 'true') return Promise.resolve(PASSED);
      reloading.resolve(signal);
      return finish.promise;
    };
    const dw = await serviceWithNginx(run, ['nginx', '-s', 'reload']);
    const signal = await reloading.promise;
    const events: string[] = [];
    const closed = dw.service.close(60_000).then(() => events.push('closed'));
    await ticks();
    expect(events).toEqual([]); // still waiting for the command
    events.push('command finished');
    finish.resolve(PASSED);
    await closed;
    expect(events).toEqual(['command finished', 'closed']);
    expect(signal?.aborted).toBe(false);
  });

  it('returns the same promise when called twice, and a pending close settles once destroy() is called', async () => {
    const reloading = deferred();
    const results: CommandResult[] = [];
    const dw = await serviceWithNginx(realRunner(reloading, results), ['sleep', '30']);
    await reloading.promise;
    const first = dw.service.close(60_000);
    expect(dw.service.close(60_000)).toBe(first);
    const events: string[] = [];
    const closed = first.then(() => events.push('closed'));
    await ticks();
    expect(events).toEqual([]);
    await dw.service.destroy();
    await closed;
    expect(events).toEqual(['closed']);
    expect(results.at(-1)).toMatchObject({ aborted: true, timedOut: false });
  });
});

describe('Service.destroy', () => {
  it('kills a 30 s reload command instead of waiting for it, and is idempotent', async () => {
    const before = new Set(liveChildren('sleep'));
    const reloading = deferred();
    const results: CommandResult[] = [];
    const dw = await serviceWithNginx(realRunner(reloading, results), ['sleep', '30']);
    await reloading.promise;
    const sleeps = liveChildren('sleep').filter((pid) => !before.has(pid));
    expect(sleeps).toHaveLength(1);

    const destroyed = dw.service.destroy();
    expect(dw.service.destroy()).toBe(destroyed);
    await destroyed;
    // destroy() settled while the command's own 30 s timeout was far away: aborted, not timed out.
    expect(results).toHaveLength(2);
    expect(results[1]).toMatchObject({ ok: false, aborted: true, timedOut: false });
    expect(liveChildren('sleep').filter((pid) => sleeps.includes(pid))).toEqual([]);
    await dw.service.close(); // close after destroy settles as well
  });

  it('does not log a rejected NGINX file when the test command is what destroy() cut short', async () => {
    const testing = deferred();
    const seen: string[] = [];
    const run: CommandRunner = (argv, timeout, signal) => {
      seen.push(argv.join(' '));
      if (argv[0] === 'sleep') testing.resolve();
      return runCommand(argv, timeout, signal);
    };
    const dir = mkdtempSync(join(tmpdir(), 'drainwatch-close-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const dw = await startTestService(
      { nodes: [NODE], haproxy: { agent: null }, nginx: { upstreams: [{ name: 'pexip', file: join(dir, 'up.conf'), test_command: ['sleep', '30'], reload_command: ['true'], settle: '10ms' }] } },
      { frontends: [createAdminApi, (context) => createNginxFrontend(context, { run })] },
    );
    onTestFinished(() => dw.close());
    await testing.promise;
    await dw.service.destroy();
    const renders = (await dw.service.metrics.nginxRenders.get()).values.map((value) => value.labels.result);
    expect(renders).not.toContain('test_failed');
    expect(seen).toEqual(['sleep 30']); // never reloaded
    // The untested file is not left behind for someone else's reload to pick up.
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('front-end destroy()', () => {
  it('drops a runtime-API push that HAProxy never answers instead of waiting out its 30 s timeout', async () => {
    const accepted = deferred<Socket>();
    const silent = createServer((socket) => accepted.resolve(socket)); // reads the commands, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    const { port } = silent.address() as { port: number };
    const dw = await startTestService(
      { nodes: [NODE], haproxy: { agent: null, runtime_api: [{ socket: `127.0.0.1:${port}`, backend: 'pexip', timeout: '30s' }] } },
      { frontends: [createAdminApi, createHaproxyRuntime] },
    );
    onTestFinished(() => dw.close());
    const socket = await accepted.promise;
    const dropped = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const pusher = dw.service.frontend('haproxy-runtime');
    await pusher?.destroy();
    await pusher?.destroy(); // idempotent
    await dropped;
    // Nothing left behind to push again: the server sees no new connection after destroy.
    const again = new Promise<'connected'>((resolve) => silent.once('connection', () => resolve('connected')));
    await ticks(50);
    expect(await Promise.race([again, Promise.resolve('quiet')])).toBe('quiet');
  });

  it('drops an agent client that sent half a line and would otherwise be kept until its 60 s deadline', async () => {
    const dw = await startTestService({ nodes: [NODE], haproxy: { agent: { listen: '127.0.0.1:0', idle_timeout: '60s' } } }, { frontends: [createAdminApi, createHaproxyAgent] });
    onTestFinished(() => dw.close());
    const agent = dw.service.frontend('haproxy-agent') as HaproxyAgentFrontend;
    const address = agent.address();
    if (!address) throw new Error('agent not listening');
    const client = connect(address.port, address.host);
    client.on('error', () => undefined); // destroy() resets the socket: ECONNRESET is the expected end
    onTestFinished(() => {
      client.destroy();
    });
    const ended = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.write('px0'); // no newline yet: HAProxy would wait for its check timeout
    await waitFor(() => agent.connections() === 1, 5000, 10, 'the agent to hold the connection');
    await agent.destroy();
    await ended;
    expect(agent.connections()).toBe(0);
    await agent.destroy(); // idempotent
    await agent.close(); // and close after destroy settles too
  });

  it('can be called twice, before or after close(), on every default front-end', async () => {
    const dw = await startTestService({ nodes: [NODE] });
    onTestFinished(() => dw.close());
    expect(DEFAULT_FRONTENDS.length).toBeGreaterThanOrEqual(9);
    for (const frontend of ['admin-api', 'override-api', 'metrics-endpoint', 'dashboard', 'haproxy-agent', 'haproxy-runtime', 'nginx', 'envoy-health', 'envoy-eds']) {
      const found = dw.service.frontend(frontend);
      expect(found, frontend).toBeDefined();
      await found?.close();
      await found?.destroy();
      await found?.destroy();
    }
  });
});
