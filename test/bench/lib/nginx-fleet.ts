// NGINX as the fleet stand-in for the prober benchmarks: `return 200` on N loopback addresses, keep-alive, HTTP or HTTPS.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { procCpuSeconds, sleep } from './stats.js';
import { killGroup, trackGroup } from './workers.js';

/** One fleet node as the probers see it. */
export type FleetNode = { name: string; address: string; port: number; statusUrl: string };

/**
 * One NGINX process holds at most this many nodes: a listening socket plus a keep-alive connection
 * per node must stay under this machine's 20,000 descriptor limit (which cannot be raised here).
 */
export const NODES_PER_NGINX = 5000;

/** The throwaway certificate's name: probers verify it against the CA file with this servername. */
export const FLEET_SERVERNAME = 'fleet.drainwatch.test';

export type NginxFleet = {
  nodes: FleetNode[];
  /** PEM CA bundle (the self-signed certificate itself) and its path, when HTTPS. */
  caFile: string | null;
  ca: string | null;
  pids: number[];
  /** Requests served since start, summed over the NGINX processes (stub_status). */
  requests(): Promise<number>;
  /** CPU seconds of every NGINX process, summed (from /proc/<pid>/stat). */
  cpuSeconds(): number;
  stop(): Promise<void>;
};

export type NginxFleetOptions = {
  count: number;
  tls: boolean;
  /** Core every NGINX process is pinned to (taskset). */
  core: number | null;
};

/** Node i (from 0) on 127.100.X.Y, so the fleet never meets other loopback tests on 127.0.0.1. */
const fleetAddress = (i: number): string => `127.${100 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${1 + (i % 250)}`;

/** An EC P-256 self-signed certificate (cheap handshakes for 10,000 nodes) made with openssl. */
function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'fleet.crt');
  const key = join(dir, 'fleet.key');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${FLEET_SERVERNAME}`, '-addext', `subjectAltName=DNS:${FLEET_SERVERNAME}`],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 },
  );
  return { cert, key };
}

function nginxConfig(dir: string, nodes: readonly FleetNode[], controlPort: number, tls: { cert: string; key: string } | null): string {
  const listens = nodes.map((node) => `    listen ${node.address}:${node.port}${tls ? ' ssl' : ''};`).join('\n');
  return [
    '# Written by test/bench/lib/nginx-fleet.ts: the prober benchmarks\' fleet stand-in.',
    'daemon off;',
    // One process (no master) is the whole fleet's server: its CPU is that one pid's.
    'master_process off;',
    'worker_processes 1;',
    `error_log ${join(dir, 'error.log')} error;`,
    `pid ${join(dir, 'nginx.pid')};`,
    // Every listening socket takes a connection slot too, and NGINX closes idle keep-alive
    // connections early when its free slots run low: leave it plenty (within the fd limit).
    `events { worker_connections ${Math.min(4 * nodes.length + 1024, 19_500)}; }`,
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${join(dir, 'tmp')}; proxy_temp_path ${join(dir, 'tmp')}; fastcgi_temp_path ${join(dir, 'tmp')}; uwsgi_temp_path ${join(dir, 'tmp')}; scgi_temp_path ${join(dir, 'tmp')};`,
    '  keepalive_timeout 300s;',
    '  keepalive_requests 100000000;',
    '  server {',
    listens,
    ...(tls ? [`    ssl_certificate ${tls.cert};`, `    ssl_certificate_key ${tls.key};`, '    ssl_session_tickets off;'] : []),
    '    location / { default_type application/json; return 200 \'{"status": "success", "result": "OK"}\'; }',
    '  }',
    '  server {',
    `    listen 127.100.255.1:${controlPort};`,
    '    location = /stub_status { stub_status; }',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Requests counter of one stub_status page ("Active connections ... \n server accepts handled requests\n A H R"). */
function stubRequests(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.100.255.1', port, path: '/stub_status', agent: false, timeout: 2000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const match = /\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n/.exec(text);
        if (!match) return reject(new Error(`unexpected stub_status page: ${text.slice(0, 200)}`));
        // This request itself is counted too.
        resolve(Number(match[3]) - 1);
      });
    });
    req.on('timeout', () => req.destroy(new Error('stub_status timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function startOne(dir: string, nodes: FleetNode[], controlPort: number, tls: { cert: string; key: string } | null, core: number | null): Promise<{ pid: number; stop: () => void }> {
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, nginxConfig(dir, nodes, controlPort, tls));
  const argv = ['-p', dir, '-c', file, '-e', join(dir, 'error.log')];
  const child = core === null ? spawn('nginx', argv, { stdio: ['ignore', 'ignore', 'pipe'], detached: true }) : spawn('taskset', ['-c', String(core), 'nginx', ...argv], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  if (child.pid === undefined) throw new Error('could not start nginx');
  const pid = child.pid;
  trackGroup(pid);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += chunk.toString();
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  for (let i = 0; i < 150; i += 1) {
    if (exited) throw new Error(`nginx exited at start: ${stderr.slice(0, 600) || readFileSync(join(dir, 'error.log'), 'utf8').slice(-600)}`);
    try {
      await stubRequests(controlPort);
      return { pid, stop: () => killGroup(pid) };
    } catch {
      await sleep(100);
    }
  }
  killGroup(pid);
  throw new Error(`nginx did not answer within 15 s: ${stderr.slice(0, 600)}`);
}

/**
 * Starts NGINX (one process per NODES_PER_NGINX nodes, pinned to `core`) answering
 * `/api/client/v2/status` with 200 on `count` loopback addresses, one shared port below 32768.
 *
 * @example
 * const fleet = await startNginxFleet({ count: 2000, tls: true, core: 0 });
 * const served = await fleet.requests();
 * await fleet.stop();
 */
export async function startNginxFleet(options: NginxFleetOptions): Promise<NginxFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-bench-nginx-'));
  mkdirSync(join(dir, 'tmp'));
  const stops: Array<() => void> = [];
  const stop = async (): Promise<void> => {
    for (const one of stops.splice(0)) one();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const tls = options.tls ? makeCertificate(dir) : null;
    const scheme = options.tls ? 'https' : 'http';
    // A random port (below 32768): a clash with another run's leftover only costs a retry.
    for (let attempt = 0; ; attempt += 1) {
      const port = 20_000 + Math.floor(Math.random() * 12_000);
      const nodes = Array.from({ length: options.count }, (_, i): FleetNode => {
        const address = fleetAddress(i);
        return { name: `px${String(i + 1).padStart(5, '0')}`, address, port, statusUrl: `${scheme}://${address}:${port}/api/client/v2/status` };
      });
      const started: Array<{ pid: number; port: number }> = [];
      try {
        for (let first = 0, n = 0; first < nodes.length; first += NODES_PER_NGINX, n += 1) {
          const sub = join(dir, `nginx-${n}`);
          mkdirSync(sub, { recursive: true });
          const controlPort = port + 1 + n;
          const one = await startOne(sub, nodes.slice(first, first + NODES_PER_NGINX), controlPort, tls, options.core);
          stops.push(one.stop);
          started.push({ pid: one.pid, port: controlPort });
        }
      } catch (error) {
        for (const one of stops.splice(0)) one();
        if (attempt < 3 && /in use/i.test(String(error))) continue;
        throw error;
      }
      return {
        nodes,
        caFile: tls?.cert ?? null,
        ca: tls ? readFileSync(tls.cert, 'utf8') : null,
        pids: started.map((one) => one.pid),
        requests: async () => (await Promise.all(started.map((one) => stubRequests(one.port)))).reduce((a, b) => a + b, 0),
        cpuSeconds: () => started.reduce((sum, one) => sum + (procCpuSeconds(one.pid) ?? Number.NaN), 0),
        stop,
      };
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
