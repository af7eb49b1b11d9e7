// Parent side of the benchmark workers: spawn (optionally pinned to a core), call over IPC, and kill every process group.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Usage } from './rpc.js';

const WORKERS_DIR = fileURLToPath(new URL('../workers/', import.meta.url));

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
  const file = `${WORKERS_DIR}${name}.ts`;
  const execArgv = [...process.execArgv];
  if (options.profile && profiling.dir) {
    // One directory per worker: Node names each thread's profile CPU.<date>.<time>.<pid>.<tid>.<seq>;
    // tsx's loader runs in a second thread, so the main thread is the one with tid 0.
    const dir = `${profiling.dir}/${label}-${Date.now()}`;
    mkdirSync(dir, { recursive: true });
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
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
