// Test harness for real NGINX: configs derived from the committed nginx/ examples, a foreground master, HTTPS requests.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import type { Agent } from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FIXTURES = `${ROOT}test/fixtures/`;
export const TEST_CA = readFileSync(`${FIXTURES}ca.pem`);
export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** True when an `nginx` binary runs here. */
export const nginxAvailable = spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status === 0;
export const streamModuleAvailable = nginxAvailable && existsSync(STREAM_MODULE);

/** A free loopback TCP port (closed again before returning; a tiny race is acceptable in tests). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Reads a committed example from nginx/ and applies literal replacements. Every
 * `from` must occur exactly as often as `count` says (default 1): if the example
 * changes, the test fails loudly instead of quietly testing something else.
 */
export function deriveConfig(example: string, replacements: readonly { from: string; to: string; count?: number }[]): string {
  let text = readFileSync(`${ROOT}nginx/${example}`, 'utf8');
  for (const { from, to, count = 1 } of replacements) {
    const found = text.split(from).length - 1;
    if (found !== count) throw new Error(`nginx/${example}: expected ${count} occurrence(s) of ${JSON.stringify(from)}, found ${found}`);
    text = text.split(from).join(to);
  }
  if (/worker_shutdown_timeout/.test(text.replace(/#.*$/gm, ''))) throw new Error(`nginx/${example} sets worker_shutdown_timeout`);
  return text;
}

/** Runs `nginx -t` on a config; returns the exit status and output. */
export function nginxTest(prefix: string, conf: string): { ok: boolean; output: string } {
  const result = spawnSync('nginx', ['-t', '-p', prefix, '-c', conf], { encoding: 'utf8', timeout: 10_000 });
  return { ok: result.status === 0, output: `${result.stderr}${result.stdout}` };
}

export type RunningNginx = { pid: number; stop(): Promise<void> };

/** Starts NGINX in the foreground (own process group) and resolves once `ready()` is true. */
export async function startNginx(prefix: string, conf: string, ready: () => Promise<boolean>): Promise<RunningNginx> {
  const child = spawn('nginx', ['-p', prefix, '-c', conf, '-g', 'daemon off;'], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async (): Promise<void> => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL'); // master, new and old workers share the group
    } catch {
      // already gone
    }
    await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 3000))]);
  };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`nginx exited at start: ${stderr}`);
    if (await ready().catch(() => false)) return { pid: child.pid as number, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new Error(`nginx did not become ready: ${stderr}`);
}

export type Reply = { status: number; node: string | undefined; body: string; sentAt: number };

/** One HTTPS GET to 127.0.0.1:port (the test CA is trusted); a fresh connection unless an agent is given. */
export function get(port: number, path: string, agent: Agent | false = false, timeoutMs = 5000): Promise<Reply> {
  const sentAt = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: TEST_CA, agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, node: header(res), body, sentAt }));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

export type OpenStream = {
  node: string | undefined;
  /** Resolves with the whole body once the response ended normally; rejects if it was cut. */
  done: Promise<string>;
  abort(): void;
};

/** Opens a long-lived GET and resolves once its headers arrived. */
export function openStream(port: number, path: string): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest | undefined = undefined;
    req = request({ host: '127.0.0.1', port, path, ca: TEST_CA, agent: false }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      const done = new Promise<string>((resolveBody, rejectBody) => {
        res.once('end', () => (res.complete ? resolveBody(body) : rejectBody(new Error(`stream cut after ${JSON.stringify(body)}`))));
        res.once('aborted', () => rejectBody(new Error(`stream aborted after ${JSON.stringify(body)}`)));
        res.once('error', rejectBody);
      });
      done.catch(() => undefined);
      resolve({ node: header(res), done, abort: () => req?.destroy() });
    });
    req.once('error', reject);
    req.end();
  });
}

function header(res: IncomingMessage): string | undefined {
  const value = res.headers['x-sim-node'];
  return Array.isArray(value) ? value[0] : value;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
