// Parent side of the benchmark workers: spawn (optionally pinned to a core), call over IPC, and kill every process group.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Usage } from './rpc.js';

const WORKERS_DIR = fileURLToPath(new URL('../workers/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Where src/ and test/bench/ are compiled to plain JS for the workers (node_modules is git-ignored). */
export const COMPILED_DIR = join(ROOT, 'node_modules/.cache/drainwatch-bench');

let compiled: Promise<boolean> | null = null;

/**
 * Compiles src/ and test/bench/ to JavaScript once per run (esbuild, file by file, same tree), so
 * workers run as plain `node` like the built package does: no tsx loader thread, no transpiling at
 * run time, nothing of tsx in the CPU and memory figures. Falls back to tsx when esbuild is missing.
 */
function compileOnce(): Promise<boolean> {
  compiled ??= (async () => {
    try {
      // esbuild comes with tsx; not a direct dependency, hence the dynamic import and the fallback.
      const esbuild = (await import('esbuild')) as typeof import('esbuild');
      const entryPoints = ['src', 'test/bench'].flatMap((dir) =>
        readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
          .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
          .map((file) => join(ROOT, dir, file)),
      );
      await esbuild.build({ entryPoints, outdir: COMPILED_DIR, outbase: ROOT, format: 'esm', platform: 'node', target: 'node20', logLevel: 'silent' });
      writeFileSync(join(COMPILED_DIR, 'package.json'), '{ "type": "module" }\n');
      // The dashboard and the xDS server read their asset files next to their compiled modules, as in the built package.
      for (const assets of ['src/operator/dashboard/assets', 'src/frontends/envoy/xds/assets']) cpSync(join(ROOT, assets), join(COMPILED_DIR, assets), { recursive: true });
      return true;
    } catch (error) {
      console.error(`  (could not precompile the workers, running them through tsx: ${String(error)})`);
      return false;
    }
  })();
  return compiled;
}

/** Every process group the harness started; killed on exit whatever happens. */
const groups = new Set<number>();

/** Kills one process group now (SIGKILL), ignoring groups that are already gone. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
  groups.delete(pid);
}

/** Registers a process group (spawned with detached: true) for the exit-time sweep. */
export function trackGroup(pid: number): void {
  groups.add(pid);
}

/** Kills every group still registered (called on exit, SIGINT, SIGTERM and uncaught errors). */
export function killAll(): void {
  for (const pid of [...groups]) killGroup(pid);
}

let tasksetChecked: boolean | null = null;
function hasTaskset(): boolean {
  tasksetChecked ??= ['/usr/bin/taskset', '/bin/taskset'].some((path) => existsSync(path));
  return tasksetChecked;
}

let profileCount = 0;

/** Whether `--cpu-prof` profiles are being written, and where. */
export const profiling: { dir: string | null } = { dir: null };

export type WorkerOptions = {
  /** Core to pin the whole process to with `taskset -c` (ignored when taskset or the core is missing). */
  core?: number;
  /** Write a V8 CPU profile for this worker when the run has --cpu-prof. */
  profile?: boolean;
  /** Label for errors and profile file names. */
  label?: string;
};

/** A running worker process. */
export type Worker = {
  readonly pid: number;
  readonly label: string;
  readonly pinned: boolean;
  call<T = unknown>(method: string, args?: unknown, timeoutMs?: number): Promise<T>;
  usage(): Promise<Usage>;
  /** With --cpu-prof and `profile: true`: starts a CPU profile of the measurement window (else a no-op). */
  profileStart(): Promise<void>;
  /** Stops it and writes <profiling dir>/<label>-<n>.cpuprofile. */
  profileStop(): Promise<void>;
  /** Asks the worker to close and exit; kills its group after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
};

/**
 * Starts test/bench/workers/<name>.ts in its own process group and waits for it to be ready.
 *
 * @example
 * const sim = await startWorker('sim', { core: 0 });
 * const nodes = await sim.call('start', { count: 1000 });
 * await sim.stop();
 */
export async function startWorker(name: string, options: WorkerOptions = {}): Promise<Worker> {
  const label = options.label ?? name;
  const plain = await compileOnce();
  const file = plain ? join(COMPILED_DIR, 'test/bench/workers', `${name}.js`) : `${WORKERS_DIR}${name}.ts`;
  const execArgv = plain ? [] : [...process.execArgv];
  const pin = options.core !== undefined && hasTaskset() && options.core < (await import('node:os')).availableParallelism();
  const command = pin ? 'taskset' : process.execPath;
  const argv = pin ? ['-c', String(options.core), process.execPath, ...execArgv, file] : [...execArgv, file];
  const child: ChildProcess = spawn(command, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
  if (child.pid === undefined) throw new Error(`could not start worker ${label}`);
  const pid = child.pid;
  trackGroup(pid);

  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let exited = false;
  child.on('exit', (code, signal) => {
    exited = true;
    groups.delete(pid);
    for (const { reject } of pending.values()) reject(new Error(`worker ${label} exited (${signal ?? code})`));
    pending.clear();
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${label} did not start within 20 s`)), 20_000);
    child.once('exit', () => reject(new Error(`worker ${label} exited before it was ready`)));
    child.on('message', (message: { id?: number; ready?: boolean; result?: unknown; error?: string }) => {
      if (message.ready) {
        clearTimeout(timer);
        resolve();
        return;
      }
      const waiter = message.id === undefined ? undefined : pending.get(message.id);
      if (!waiter || message.id === undefined) return;
      pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`worker ${label}: ${message.error}`));
      else waiter.resolve(message.result);
    });
  });
  try {
    await ready;
  } catch (error) {
    killGroup(pid);
    throw error;
  }

  const call = <T>(method: string, args?: unknown, timeoutMs = 150_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(new Error(`worker ${label} has exited`));
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`worker ${label}: ${method} took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.send({ id, method, args: args ?? null });
    });

  return {
    pid,
    label,
    pinned: pin,
    call,
    usage: () => call<Usage>('__usage', null, 10_000),
    async profileStart() {
      if (options.profile && profiling.dir) await call('__profileStart', null, 10_000);
    },
    async profileStop() {
      if (!options.profile || !profiling.dir) return;
      mkdirSync(profiling.dir, { recursive: true });
      await call('__profileStop', join(profiling.dir, `${label}-${++profileCount}.cpuprofile`), 30_000);
    },
    async stop(graceMs = 8000) {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await call('__exit', null, 2000).catch(() => undefined);
      const timer = setTimeout(() => killGroup(pid), graceMs);
      await gone;
      clearTimeout(timer);
      killGroup(pid); // anything the worker itself spawned
    },
  };
}
