// Real HAProxy for the benchmarks: configs derived from the committed example, foreground processes, stats socket reads.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { procCpuSeconds, sleep } from './stats.js';
import { killGroup, trackGroup } from './workers.js';
import { haproxyCommand } from '../../helpers/haproxy-cli.js';

const EXAMPLE = fileURLToPath(new URL('../../../haproxy/haproxy.cfg', import.meta.url));

/** The parts of haproxy/haproxy.cfg the benchmark configs reuse, so the example is what gets measured. */
export type ExampleParts = { defaults: string; agentDefaultServer: string; pushDefaultServer: string };

/** Reads haproxy/haproxy.cfg: its `defaults` section and the agent- and push-mode `default-server` lines. */
export function exampleParts(): ExampleParts {
  const text = readFileSync(EXAMPLE, 'utf8');
  const defaults = /^defaults\n(?:[ \t]+.*\n|\s*\n)*/m.exec(text)?.[0];
  const agent = /^\s*(default-server .*agent-check.*)$/m.exec(text)?.[1];
  const push = /^\s*#\s*(default-server (?!.*agent-check).*)$/m.exec(text)?.[1];
  if (!defaults || !agent || !push) throw new Error(`${EXAMPLE} no longer has a defaults section and agent/push default-server lines; update test/bench/lib/haproxy.ts`);
  // Logging goes nowhere here (no syslog in the benchmark), the rest is kept as written.
  return { defaults: defaults.replace(/^\s*(log|option (tcplog|dontlognull)).*\n/gm, ''), agentDefaultServer: agent.trim(), pushDefaultServer: push.trim() };
}

/** The example's agent-mode default-server line pointed at a local agent, with the given agent-inter. */
export function agentDefaultServer(parts: ExampleParts, agentPort: number, agentInter?: string): string {
  let line = parts.agentDefaultServer.replace(/agent-addr \S+/, 'agent-addr 127.0.0.1').replace(/agent-port \d+/, `agent-port ${agentPort}`);
  if (agentInter) line = line.replace(/agent-inter \S+/, `agent-inter ${agentInter}`);
  return line;
}

export type Haproxy = {
  pid: number;
  dir: string;
  socket: string;
  /** One runtime-API command; resolves its whole answer. */
  command(text: string): Promise<string>;
  /** Server status per "backend/server" from `show stat` (e.g. "UP", "DRAIN", "DOWN", "UP 1/3"). */
  statuses(): Promise<Map<string, string>>;
  cpuSeconds(): number | null;
  stop(): Promise<void>;
};

/** One runtime-API command over the unix stats socket. */
export const statsCommand = haproxyCommand;

/** Parses `show stat` CSV into "backend/server" -> status. */
export function parseStatuses(csv: string): Map<string, string> {
  const lines = csv.split('\n');
  const header = (lines[0] ?? '').replace(/^# /, '').split(',');
  const px = header.indexOf('pxname');
  const sv = header.indexOf('svname');
  const status = header.indexOf('status');
  const result = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const fields = line.split(',');
    const server = fields[sv];
    if (server === 'FRONTEND' || server === 'BACKEND') continue;
    result.set(`${fields[px]}/${server}`, fields[status] ?? '');
  }
  return result;
}

/** A fresh temp dir for one HAProxy (its config and `admin.sock`). */
export function haproxyDir(): string {
  return mkdtempSync(join(tmpdir(), 'drainwatch-bench-haproxy-'));
}

/**
 * Starts `haproxy -db -f <cfg>` in a temp dir; `body` is everything after `global`/`defaults`
 * (backends). The stats socket lives in the temp dir: `<dir>/admin.sock`.
 */
export async function startHaproxy(parts: ExampleParts, body: string, options: { label?: string; dir?: string } = {}): Promise<Haproxy> {
  const label = options.label ?? 'haproxy';
  const dir = options.dir ?? haproxyDir();
  const socket = join(dir, 'admin.sock');
  const config = [
    '# Derived by test/bench from haproxy/haproxy.cfg (its defaults section and default-server lines).',
    'global',
    `    stats socket ${socket} mode 600 level admin`,
    '    stats timeout 30s',
    '    maxconn 4096',
    '',
    parts.defaults.trimEnd(),
    '',
    body,
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  if (child.pid === undefined) throw new Error('could not start haproxy');
  const pid = child.pid;
  trackGroup(pid);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 20_000) stderr += chunk.toString();
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const stop = async () => {
    killGroup(pid);
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i += 1) {
    if (exited) {
      await stop();
      throw new Error(`${label} exited at start: ${stderr.split("\n").filter((line) => line.includes("ALERT")).join(" ").slice(0, 1000) || stderr.slice(0, 1000)} (config ${file})`);
    }
    try {
      await statsCommand(socket, 'show info', 500);
      break;
    } catch {
      if (i > 100) {
        await stop();
        throw new Error(`${label} did not open its stats socket within 10 s:\n${stderr.slice(0, 2000)}`);
      }
      await sleep(100);
    }
  }
  return {
    pid,
    dir,
    socket,
    command: (text) => statsCommand(socket, text),
    statuses: async () => parseStatuses(await statsCommand(socket, 'show stat -1 4 -1')),
    cpuSeconds: () => procCpuSeconds(pid),
    stop,
  };
}
