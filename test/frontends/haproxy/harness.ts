// Test harness: real HAProxy from the committed examples, its runtime API, and HTTPS clients through it.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { testTls, testTlsPath } from '../../../src/simulator/index.js';
import { waitFor } from '../../helpers/service.js';
import type { IncomingMessage } from 'node:http';
import { haproxyCommand } from '../../helpers/haproxy-cli.js';

const EXAMPLES = fileURLToPath(new URL('../../../haproxy/', import.meta.url));

/** Test timing: the bounds in the acceptance criteria are relative to these. */
export const AGENT_INTER_MS = 1000;
export const PROBE_INTERVAL_MS = 500;

export type DeriveOptions = {
  dir: string;
  frontendPort: number;
  /** Agent mode: drainwatch's bound agent port. */
  agentPort?: number;
  /** The `server` lines (from `haproxyServerLines`). */
  serverLines: string[];
  /** Push mode: use the example's commented push-mode default-server line instead of the agent one. */
  push?: boolean;
};

/** Replaces exactly one occurrence, so a drifting example breaks the test instead of silently testing something else. */
function replaceOnce(text: string, pattern: string | RegExp, replacement: string | ((match: string, ...groups: string[]) => string)): string {
  const count = typeof pattern === 'string' ? text.split(pattern).length - 1 : (text.match(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`)) ?? []).length;
  if (count !== 1) throw new Error(`example config: expected exactly one match for ${String(pattern)}, found ${count}`);
  return text.replace(pattern, typeof replacement === 'string' ? () => replacement : replacement);
}

/**
 * Reads haproxy/<example> and substitutes what a test machine needs: loopback addresses and
 * ports, the admin socket in a temp dir, the test certificates, agent-inter 1s, and the
 * server block. Drops `log /dev/log`, `user`, `group` and `daemon` (HAProxy runs in the foreground).
 */
export function deriveConfig(example: 'haproxy.cfg' | 'haproxy-http.cfg', options: DeriveOptions): { text: string; socket: string } {
  let text = readFileSync(join(EXAMPLES, example), 'utf8');
  const socket = join(options.dir, 'admin.sock');
  text = replaceOnce(text, /^ *log \/dev\/log .*\n/m, '');
  text = replaceOnce(text, /^ *user haproxy\n/m, '');
  text = replaceOnce(text, /^ *group haproxy\n/m, '');
  text = replaceOnce(text, /^ *daemon\n/m, '');
  text = replaceOnce(text, 'stats socket /run/haproxy/admin.sock', `stats socket ${socket}`);
  text = replaceOnce(text, 'bind :443', `bind 127.0.0.1:${options.frontendPort}`);
  if (example === 'haproxy-http.cfg') {
    const pem = join(options.dir, 'frontend.pem');
    writeFileSync(pem, `${testTls().cert}\n${testTls().key}\n`);
    text = replaceOnce(text, '/etc/haproxy/certs/pexip.pem', pem);
    text = replaceOnce(text, '/etc/haproxy/pexip-nodes-ca.pem', testTlsPath('ca.pem'));
  }
  text = replaceOnce(text, 'agent-addr 10.0.0.5 agent-port 5555', `agent-addr 127.0.0.1 agent-port ${options.agentPort ?? 1}`);
  text = replaceOnce(text, 'agent-inter 2s', `agent-inter ${AGENT_INTER_MS}ms`);
  if (options.push) {
    text = replaceOnce(text, /^( *)(default-server [^\n]*agent-check[^\n]*)$/m, (_m, indent, line) => `${indent}# ${line}`);
    text = replaceOnce(text, /^( *)# (default-server weight 100 check inter 2s fall 2 rise 2)$/m, (_m, indent, line) => `${indent}${line}`);
    if (/^ *default-server[^\n]*agent-check/m.test(text)) throw new Error('push-mode config still has agent-check');
  }
  text = replaceOnce(text, /^ *# BEGIN drainwatch servers\n[\s\S]*?# END drainwatch servers$/m, options.serverLines.join('\n'));
  return { text, socket };
}

/** A free loopback TCP port (listen on 0, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-haproxy-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export type Haproxy = {
  socket: string;
  cli(command: string): Promise<string>;
  /** `show stat` rows of one backend's servers, keyed by server name. */
  stat(backend: string): Promise<Map<string, Record<string, string>>>;
  /** `show servers state` rows of one backend, keyed by server name. */
  serversState(backend: string): Promise<Map<string, Record<string, string>>>;
  stop(): Promise<void>;
  output(): string;
};

/** One runtime-API command over the unix stats socket. */
export const cli = haproxyCommand;

function parseStat(text: string, backend: string): Map<string, Record<string, string>> {
  const [header, ...rows] = text.split('\n');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const result = new Map<string, Record<string, string>>();
  for (const row of rows) {
    const cells = row.split(',');
    if (cells[0] !== backend || cells[1] === 'BACKEND' || cells[1] === 'FRONTEND') continue;
    result.set(cells[1] as string, Object.fromEntries(columns.map((column, i) => [column, cells[i] ?? ''])));
  }
  return result;
}

function parseServersState(text: string): Map<string, Record<string, string>> {
  const lines = text.split('\n');
  const header = lines.find((line) => line.startsWith('# be_id'));
  if (!header) throw new Error(`unexpected show servers state answer: ${text.slice(0, 200)}`);
  const columns = header.slice(2).split(' ');
  const result = new Map<string, Record<string, string>>();
  for (const line of lines) {
    if (!/^\d+ /.test(line)) continue;
    const cells = line.split(' ');
    const row = Object.fromEntries(columns.map((column, i) => [column, cells[i] ?? '']));
    result.set(row.srv_name as string, row);
  }
  return result;
}

/** Runs `haproxy -db -f <cfg>` in its own process group, killed when the test ends. */
export async function startHaproxy(dir: string, text: string, socket: string, name = 'haproxy.cfg'): Promise<Haproxy> {
  const path = join(dir, name);
  writeFileSync(path, text);
  const child = spawn('haproxy', ['-db', '-f', path], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const stop = async () => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exit;
  };
  onTestFinished(stop);
  await waitFor(async () => !exited && (await cli(socket, 'show info')).includes('Pid:'), 10_000, 50, `haproxy to start (${output})`).catch((error) => {
    throw new Error(`${(error as Error).message}\n${output}`);
  });
  return {
    socket,
    cli: (command) => cli(socket, command),
    stat: async (backend) => parseStat(await cli(socket, 'show stat'), backend),
    serversState: async (backend) => parseServersState(await cli(socket, `show servers state ${backend}`)),
    stop,
    output: () => output,
  };
}

export type Reply = { status: number; node: string; headers: IncomingMessage['headers']; body: string };

/** One HTTPS request through HAProxy on a new connection (test CA, 127.0.0.1 SAN). */
export function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: testTls().ca, agent: false, headers, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, node: String(res.headers['x-sim-node'] ?? ''), headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** A long streaming response through HAProxy: records each line as it arrives. */
export function openStream(port: number, seconds: number): Promise<{ node: string; lines: string[]; ended: Promise<void>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/stream?seconds=${seconds}&interval_ms=100`, ca: testTls().ca, agent: false }, (res) => {
      const lines: string[] = [];
      let partial = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        partial += chunk;
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts);
      });
      const ended = new Promise<void>((done, fail) => {
        res.on('end', () => done());
        res.on('error', fail);
      });
      ended.catch(() => undefined);
      resolve({ node: String(res.headers['x-sim-node'] ?? ''), lines, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    onTestFinished(() => {
      req.destroy();
    });
    req.end();
  });
}
