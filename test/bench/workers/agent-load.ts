// Benchmark worker: an agent-check load generator that opens a new TCP connection per check, as HAProxy does.

import { connect } from 'node:net';
import { selfUsage, serve } from '../lib/rpc.js';
import { percentile } from '../lib/stats.js';

export type AgentLoadArgs = {
  port: number;
  names: string[];
  durationMs: number;
  /** Closed loop: this many connections in flight, each starting the next check when it finishes. */
  concurrency?: number;
  /** Open loop: start this many checks per second whatever the answers do. */
  rate?: number;
};

export type AgentLoadResult = {
  checks: number;
  errors: number;
  badReplies: number;
  seconds: number;
  checksPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  loadCpuS: number;
  /** Open loop only: checks that could not start on time because the in-flight cap was reached. */
  skipped: number;
};

/** One agent check: connect, send "<name>\n", read one line, close. Resolves latency in ms, or -1 on failure, -2 on a bad reply. */
function check(port: number, name: string): Promise<number> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    let reply = '';
    let done = false;
    const finish = (value: number) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(5000, () => finish(-1));
    socket.on('connect', () => socket.write(`${name}\n`));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\n')) finish(reply.startsWith('up ready') ? performance.now() - started : -2);
    });
    socket.on('end', () => finish(-2));
    socket.on('error', () => finish(-1));
  });
}

async function run(args: AgentLoadArgs): Promise<AgentLoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let badReplies = 0;
  let skipped = 0;
  let next = 0;
  const record = (value: number) => {
    if (value >= 0) latencies.push(value);
    else if (value === -1) errors += 1;
    else badReplies += 1;
  };
  const pick = () => args.names[next++ % args.names.length] as string;
  const cpuBefore = selfUsage().cpuS;
  const started = performance.now();
  const deadline = started + args.durationMs;
  if (args.rate) {
    const rate = args.rate;
    const maxInFlight = Math.max(64, rate); // a second's worth; past that the server is not keeping up
    let launched = 0;
    let inFlight = 0;
    const pending = new Set<Promise<void>>();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        if (now >= deadline) {
          clearInterval(timer);
          resolve();
          return;
        }
        const due = Math.floor(((now - started) / 1000) * rate);
        for (; launched < due; launched += 1) {
          if (inFlight >= maxInFlight) {
            skipped += 1;
            continue;
          }
          inFlight += 1;
          const p: Promise<void> = check(args.port, pick()).then((value) => {
            inFlight -= 1;
            record(value);
            pending.delete(p);
          });
          pending.add(p);
        }
      }, 1);
    });
    await Promise.all(pending);
  } else {
    const loops = Array.from({ length: args.concurrency ?? 32 }, async () => {
      while (performance.now() < deadline) record(await check(args.port, pick()));
    });
    await Promise.all(loops);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    checks: latencies.length,
    errors,
    badReplies,
    seconds,
    checksPerS: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.reduce((a, b) => Math.max(a, b), 0),
    loadCpuS: selfUsage().cpuS - cpuBefore,
    skipped,
  };
}

serve({ run });
