// The `show servers state` reader against a live HAProxy 2.6: agent replies and hand-made changes read back by name.

import { createServer } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startHaproxy, tempDir } from './harness.js';
import { requires } from '../../helpers/requires.js';
import { waitFor } from '../../helpers/service.js';
import { describeServer, parseServersState } from '../../../src/frontends/haproxy/servers-state.js';
import type { AddressInfo, Server } from 'node:net';

const SUITE = 'HAProxy show servers state (live)';

async function listen(server: Server): Promise<number> {
  server.on('connection', (socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

describe.runIf(requires(SUITE, ['haproxy']))(SUITE, () => {
  it('reads agent drain, agent weight, a hand-made maint and a missing backend from a real HAProxy', async () => {
    const dir = tempDir();
    const replies: Record<string, string> = { px01: 'up ready 100%\n', px02: 'up drain #maintenance\n', px03: 'up ready 40%\n' };
    const agent = createServer((socket) => {
      let line = '';
      socket.on('data', (chunk) => {
        line += chunk.toString('latin1');
        const end = line.indexOf('\n');
        if (end >= 0) socket.end(replies[line.slice(0, end).trim()] ?? '\n');
      });
    });
    const agentPort = await listen(agent);
    const livePort = await listen(createServer((socket) => socket.end()));
    const socket = `${dir}/admin.sock`;
    const text = [
      'global',
      `    stats socket ${socket} mode 600 level admin`,
      'defaults',
      '    mode tcp',
      '    timeout connect 1s',
      '    timeout client 5s',
      '    timeout server 5s',
      '    timeout check 1s',
      'backend pexip',
      '    balance leastconn',
      `    default-server weight 100 check inter 300ms agent-check agent-addr 127.0.0.1 agent-port ${agentPort} agent-inter 300ms`,
      `    server px01 127.0.0.1:${livePort} agent-send "px01\\n"`,
      `    server px02 127.0.0.1:${livePort} agent-send "px02\\n"`,
      `    server px03 127.0.0.1:${livePort} agent-send "px03\\n"`,
      `    server px04 127.0.0.1:${livePort} no-agent-check`,
      '',
    ].join('\n');
    const haproxy = await startHaproxy(dir, text, socket);
    const read = async () => {
      const result = parseServersState(await haproxy.cli('show servers state pexip'), 'pexip');
      if (!result.ok) throw new Error(result.reason);
      return new Map(result.servers.map((server) => [server.name, describeServer(server)]));
    };
    await waitFor(async () => (await read()).get('px02') === 'drain' && (await read()).get('px03') === 'ready 40%', 10_000, 50, 'agent replies applied');
    expect(await read()).toEqual(new Map([['px01', 'ready 100%'], ['px02', 'drain'], ['px03', 'ready 40%'], ['px04', 'ready 100%']]));

    expect(await haproxy.cli('set server pexip/px04 state maint')).toBe('\n');
    expect((await read()).get('px04')).toBe('maint');

    const missing = parseServersState(await haproxy.cli('show servers state nope'), 'nope');
    expect(missing).toEqual({ ok: false, reason: 'HAProxy has no backend "nope"', missingBackend: true });
  });
});
