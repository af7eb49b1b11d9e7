// Test helper for tests around real processes: the CLI as a child process, a simulator and scratch folder per file, a free port, /proc.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { Simulator } from '../../src/simulator/index.js';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type CliFixture = {
  /** The fleet the CLI probes (no Management Node). */
  readonly sim: Simulator;
  /** Scratch folder for config and rendered files. */
  readonly dir: string;
};

/**
 * Registers beforeAll/afterAll for the calling test file: a Simulator with `nodes` nodes and a
 * scratch folder named from `prefix`, both gone after the file. Read the fields inside tests.
 */
export function useCliFixture(nodes: number, prefix: string): CliFixture {
  let sim: Simulator | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    sim = await Simulator.start({ nodes, management: false });
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    sim?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get sim() {
      if (!sim) throw new Error('useCliFixture: the simulator starts in beforeAll; read it inside a test');
      return sim;
    },
    get dir() {
      if (!dir) throw new Error('useCliFixture: the folder is made in beforeAll; read it inside a test');
      return dir;
    },
  };
}

export type CliProcess = {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything it wrote so far, stderr and stdout. */
  logs: () => string;
  /** Settles with the exit code (null after a signal). */
  exited: Promise<number | null>;
  /** The exit code once it has exited; undefined while it runs. */
  exitCode: () => number | null | undefined;
};

/**
 * Starts `node --import tsx src/cli/main.ts ...args` from the repository root: one process (no tsx
 * wrapper in between, so signals reach drainwatch itself), in its own process group so the cleanup
 * registered here kills every descendant.
 *
 * @example const cli = startCliProcess(['--config', file]); cli.child.kill('SIGHUP');
 */
export function startCliProcess(args: readonly string[]): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  onTestFinished(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      /* already gone */
    }
  });
  let logs = '';
  child.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve((code = exitCode))));
  return { child, logs: () => logs, exited, exitCode: () => code };
}

/** A loopback port that was free a moment ago (for a child process that must be told its port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Children of `ppid` whose command name is `comm`, from /proc. `live` leaves out zombies
 * (ended, not yet reaped), for checks that a process is really gone.
 */
export function childrenNamed(ppid: number, comm: string, options: { live?: boolean } = {}): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (name === comm && Number(parent) === ppid && !(options.live && state === 'Z')) found.push(Number(entry));
    } catch {
      /* the process ended while we looked */
    }
  }
  return found;
}
