// Test helper: a connection flood from another process (its own event loop, like a real attacker) on a loopback address.

import { spawn } from 'node:child_process';
import { onTestFinished } from 'vitest';

/** idle: connect and send nothing; slowloris: an HTTP request line, then one header byte every second; sse: an event-stream request, never read. */
export type FloodMode = 'idle' | 'slowloris' | 'sse';

export type FloodOptions = { port: number; from: string; count: number; mode: FloodMode };

/** What the flooding process reports: sockets that connected, and how many the server has closed since. */
export type FloodStatus = { connected: number; closed: number; failed: number };

// Runs in the child: opens `count` sockets in bursts of 50 and prints its counts twice a second.
const CHILD = String.raw`
const net = require('node:net');
const [port, from, count, mode] = [Number(process.argv[1]), process.argv[2], Number(process.argv[3]), process.argv[4]];
const status = { connected: 0, closed: 0, failed: 0 };
const sockets = [];
const report = () => process.stdout.write(JSON.stringify(status) + '\n');
let opened = 0;
function burst() {
  for (let i = 0; i < 50 && opened < count; i += 1, opened += 1) {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
    let connected = false;
    socket.on('connect', () => {
      connected = true;
      status.connected += 1;
      if (mode === 'slowloris') socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      if (mode === 'sse') { socket.pause(); socket.write('GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n'); }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => { if (connected) status.closed += 1; else status.failed += 1; });
    if (mode === 'sse') socket.pause();
    sockets.push(socket);
  }
  if (opened < count) setTimeout(burst, 5); else report();
}
burst();
setInterval(() => {
  if (mode === 'slowloris') for (const socket of sockets) if (!socket.destroyed) socket.write('X');
}, 1000);
setInterval(report, 200);
// "resume" on stdin: start reading (and discarding), so a paused socket notices that the server closed it.
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => { if (text.includes('resume')) for (const socket of sockets) socket.resume(); });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/**
 * Starts the flood in a child process (killed when the test ends) and resolves once every socket
 * has connected or failed. `status()` is the child's latest report.
 *
 * @example
 * const flood = await startFlood({ port, from: '127.0.0.9', count: 400, mode: 'idle' });
 * flood.status().closed // sockets the server has closed (for mode 'sse', after flood.resume())
 */
export async function startFlood(options: FloodOptions): Promise<{ status(): FloodStatus; stop(): void; resume(): void }> {
  const child = spawn(process.execPath, ['-e', CHILD, String(options.port), options.from, String(options.count), options.mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let latest: FloodStatus = { connected: 0, closed: 0, failed: 0 };
  let buffered = '';
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  onTestFinished(stop);
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`flood process exited early (${code})`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line) latest = JSON.parse(line) as FloodStatus;
      if (latest.connected + latest.failed >= options.count) resolve();
    });
  });
  child.removeAllListeners('exit');
  // A paused socket never reads, so it cannot see a reset; resume() lets the child notice what the server closed.
  return { status: () => latest, stop, resume: () => child.stdin.write('resume\n') };
}
