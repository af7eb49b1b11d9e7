// Child side of the benchmark workers' IPC: named async handlers, a built-in usage report, and exit on parent loss.

import { writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector';

export type Handlers = Record<string, (args: never) => unknown>;

type Request = { id: number; method: string; args: unknown };

/** CPU and memory of this process, as a worker reports it to the harness. */
export type Usage = { cpuS: number; rssBytes: number; peakRssBytes: number; heapUsedBytes: number };

/** This process's CPU seconds (user + system, every thread), RSS and peak RSS (VmHWM). */
export function selfUsage(): Usage {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return { cpuS: (cpu.user + cpu.system) / 1e6, rssBytes: memory.rss, peakRssBytes: peakRss('self') ?? memory.rss, heapUsedBytes: memory.heapUsed };
}

/** VmHWM of a process in bytes (Linux), or null when /proc is not readable. */
export function peakRss(pid: number | 'self'): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

let session: Session | null = null;

const post = (method: string, params?: object): Promise<unknown> =>
  new Promise((resolve, reject) => (session as Session).post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))));

/** Starts a V8 CPU profile of this process's main thread (the measurement window only, unlike --cpu-prof). */
async function profileStart(): Promise<boolean> {
  session ??= new Session();
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return true;
}

/** Stops the profile and writes it as a .cpuprofile file. */
async function profileStop(file: string): Promise<string | null> {
  if (!session) return null;
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  session.disconnect();
  session = null;
  writeFileSync(file, JSON.stringify(profile));
  return file;
}

/**
 * Serves `handlers` over the IPC channel. `onExit` closes the worker's resources before
 * it exits (so --cpu-prof profiles are written and listeners are released).
 */
export function serve(handlers: Handlers, onExit: () => Promise<void> | void = () => undefined): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('a benchmark worker must be started by test/bench/run.ts (no IPC channel)');
  let exiting = false;
  const exit = async (code: number): Promise<void> => {
    if (exiting) return;
    exiting = true;
    const force = setTimeout(() => process.exit(code), 5000);
    force.unref();
    try {
      await onExit();
    } finally {
      process.exit(code);
    }
  };
  // An orphaned worker must not keep listeners or load running.
  process.on('disconnect', () => void exit(1));
  process.on('message', (message: Request) => {
    void (async () => {
      try {
        if (message.method === '__usage') return send({ id: message.id, result: selfUsage() });
        if (message.method === '__profileStart') return send({ id: message.id, result: await profileStart() });
        if (message.method === '__profileStop') return send({ id: message.id, result: await profileStop(message.args as string) });
        if (message.method === '__exit') {
          send({ id: message.id, result: true });
          return void exit(0);
        }
        const handler = handlers[message.method];
        if (!handler) throw new Error(`unknown worker method ${message.method}`);
        const result = await handler(message.args as never);
        send({ id: message.id, result: result ?? null });
      } catch (error) {
        send({ id: message.id, error: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) });
      }
    })();
  });
  send({ ready: true });
}
