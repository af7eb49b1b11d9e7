// HTTP behaviour of one simulated Conferencing Node: the status endpoint (phases, faults) and upstream paths.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeConnection, NodeFaults } from './sim-node.js';

/** The node status path probed by drainwatch (Pexip client API v2). */
export const STATUS_PATH = '/api/client/v2/status';

/** Size of the `huge_body` fault's answer. */
export const HUGE_BODY_BYTES = 10 * 1024 * 1024;

/** Interval between bytes of the `trickle` fault. */
export const TRICKLE_INTERVAL_MS = 500;

const JSON_TYPE = 'application/json';
const HUGE_CHUNK = Buffer.alloc(64 * 1024, 'x');
const TRICKLE_TEXT = '{"status":"success","result":"' + ' '.repeat(64);

/** Hooks the fleet passes in; keeps this module free of fleet state. */
export type NodeRequestHooks = {
  /** Called once when a response is finished or its connection died. */
  settled: (conn: NodeConnection) => void;
};

/**
 * Answers one request that arrived through a node's listener. The node is the
 * listener's, never the Host header's: load balancers send arbitrary Host values.
 */
export function handleNodeRequest(conn: NodeConnection, req: IncomingMessage, res: ServerResponse, hooks: NodeRequestHooks): void {
  const node = conn.node;
  conn.active += 1;
  res.once('close', () => {
    conn.active -= 1;
    conn.stuck = false;
    hooks.settled(conn);
  });
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  const isProbe = path === STATUS_PATH || path === `${STATUS_PATH}/`;
  if (isProbe) node.probeRequests += 1;
  else node.otherRequests += 1;

  if (node.phase === 'rebooting' || node.phase === 'down' || node.removed) {
    // Only reachable in the instant between a phase change and the socket teardown.
    conn.raw.destroy();
    return;
  }
  if (node.phase === 'booting') {
    // A booting node's TCP stack is up but nothing answers yet: the client must time out.
    conn.stuck = true;
    return;
  }
  res.setHeader('x-sim-node', node.name);
  if (isProbe) answerStatus(conn, req, res, { ...node.faults });
  else answerOther(conn, req, res, path);
}

function answerStatus(conn: NodeConnection, req: IncomingMessage, res: ServerResponse, faults: NodeFaults): void {
  if (faults.reset) {
    // RST rather than FIN: the prober must see ECONNRESET, not an empty reply.
    conn.raw.resetAndDestroy();
    return;
  }
  if (faults.hang) {
    conn.stuck = true;
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { status: 'failed', result: 'Method not allowed' }, { allow: 'GET, HEAD' });
    return;
  }
  const latency = faults.latency_ms ?? 0;
  if (latency > 0) {
    const timer = setTimeout(() => answerStatusNow(conn, res, faults), latency);
    res.once('close', () => clearTimeout(timer));
    return;
  }
  answerStatusNow(conn, res, faults);
}

function answerStatusNow(conn: NodeConnection, res: ServerResponse, faults: NodeFaults): void {
  if (res.destroyed) return;
  const node = conn.node;
  if (faults.status !== undefined) {
    sendJson(res, faults.status, { status: 'failed', result: `Simulated HTTP ${faults.status} fault` });
  } else if (faults.non_json) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<html><head><title>Welcome</title></head><body><h1>It works!</h1><p>Not the API you are looking for.</p></body></html>\n');
  } else if (faults.huge_body) {
    sendHugeBody(res);
  } else if (faults.trickle) {
    trickle(conn, res);
  } else if (node.phase === 'maintenance') {
    sendJson(res, 503, { status: 'failed', result: node.reason ?? 'Node is in maintenance mode' });
  } else if (node.phase === 'up') {
    sendJson(res, 200, { status: 'success', result: 'OK' });
  } else {
    // The phase left "running" during the latency fault; behave as that phase would.
    conn.stuck = true;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** 10 MiB of valid JSON, written in 64 KiB chunks that wait for 'drain' (bounded memory per client). */
function sendHugeBody(res: ServerResponse): void {
  const prefix = '{"status":"success","result":"';
  const suffix = '"}';
  let remaining = HUGE_BODY_BYTES - prefix.length - suffix.length;
  res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': String(HUGE_BODY_BYTES) });
  res.write(prefix);
  const pump = (): void => {
    while (remaining > 0) {
      if (res.destroyed) return;
      const size = Math.min(HUGE_CHUNK.length, remaining);
      remaining -= size;
      if (!res.write(size === HUGE_CHUNK.length ? HUGE_CHUNK : HUGE_CHUNK.subarray(0, size))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end(suffix);
  };
  pump();
}

/** Headers now, then one byte every 500 ms until the client gives up (a slowloris in reverse). */
function trickle(conn: NodeConnection, res: ServerResponse): void {
  conn.stuck = true;
  res.writeHead(200, { 'content-type': JSON_TYPE });
  res.flushHeaders();
  let index = 0;
  const timer = setInterval(() => {
    res.write(TRICKLE_TEXT.charAt(index));
    index = Math.min(index + 1, TRICKLE_TEXT.length - 1);
  }, TRICKLE_INTERVAL_MS);
  // A trickling response must never keep the process alive on its own.
  timer.unref();
  res.once('close', () => clearInterval(timer));
}

function answerOther(conn: NodeConnection, req: IncomingMessage, res: ServerResponse, path: string): void {
  const name = conn.node.name;
  if (path === '/') {
    const body = `${name}\n`;
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  if (path === '/stream') {
    stream(conn, req, res);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${name}: not found\n`);
}

/** `/stream?seconds=N&interval_ms=M`: a long-lived "call" that outlives maintenance mode. */
function stream(conn: NodeConnection, req: IncomingMessage, res: ServerResponse): void {
  const query = new URL(req.url ?? '/', 'http://sim.invalid').searchParams;
  const seconds = intParam(query.get('seconds'), 10, 0, 86_400);
  const intervalMs = intParam(query.get('interval_ms'), 1000, 10, 60_000);
  if (seconds === undefined || intervalMs === undefined) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('seconds must be an integer 0..86400 and interval_ms an integer 10..60000\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
  const started = Date.now();
  let line = 0;
  const tick = (): void => {
    line += 1;
    res.write(`${conn.node.name} ${line}\n`);
    if (Date.now() - started >= seconds * 1000) {
      clearInterval(timer);
      res.end();
    }
  };
  const timer = setInterval(tick, intervalMs);
  res.once('close', () => clearInterval(timer));
  tick();
}

function intParam(value: string | null, fallback: number, min: number, max: number): number | undefined {
  if (value === null || value === '') return fallback;
  if (!/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}
