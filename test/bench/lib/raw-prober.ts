// The in-language floor for the prober benchmarks: keep-alive node:net / node:tls sockets, a pre-encoded GET, status line + Content-Length only.

import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import type { SecureContext } from 'node:tls';

export type RawProberOptions = {
  nodes: ReadonlyArray<{ address: string; port: number; statusUrl: string }>;
  intervalMs: number;
  timeoutMs: number;
  tls: { ca: string; servername: string } | null;
  /** Called at each probe start with how late it started (ms). */
  onStart(latenessMs: number): void;
  /** Called when a probe ends: the HTTP status, or 0 and a reason on failure. */
  onEnd(status: number, reason: string): void;
  /** Called for every new connection. */
  onConnect(): void;
};

const CRLF2 = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

/** One node's preallocated state: its socket, the encoded request and the answer being parsed. */
type NodeState = {
  index: number;
  address: string;
  port: number;
  request: Buffer;
  socket: Socket | null;
  /** Due time of the next probe. */
  due: number;
  /** Start time of the probe in flight, or -1. */
  sentAt: number;
  /** A probe came due while the previous one was still running. */
  owed: boolean;
  pending: Buffer | null;
  /** Body bytes still to come for the answer being read, or -1 while reading headers. */
  bodyLeft: number;
  status: number;
};

/** Opens at most this many connections at once while warming up: a TLS handshake costs Node 1-3 ms of CPU. */
const WARM_CONCURRENCY = 64;

/**
 * Probes every node once per interval over one keep-alive socket each, with starts spread evenly
 * and one timer for the whole fleet: no HTTP library, no per-probe objects beyond Buffers the
 * socket hands over. It answers what probing costs in Node itself.
 *
 * @example
 * const stop = await startRawProber({ nodes, intervalMs: 1000, timeoutMs: 800, tls: null, onStart() {}, onEnd() {}, onConnect() {} });
 * stop();
 */
export async function startRawProber(options: RawProberOptions): Promise<() => void> {
  const { intervalMs, timeoutMs } = options;
  // One secure context for the whole fleet: a `ca` per connection would parse the bundle every time.
  const secureContext: SecureContext | null = options.tls ? createSecureContext({ ca: options.tls.ca }) : null;
  let now0 = Date.now();
  const states: NodeState[] = options.nodes.map((node, index) => ({
    index,
    address: node.address,
    port: node.port,
    request: Buffer.from(`GET ${new URL(node.statusUrl).pathname} HTTP/1.1\r\nhost: ${node.address}:${node.port}\r\naccept: application/json\r\nuser-agent: raw\r\n\r\n`, 'latin1'),
    socket: null,
    due: now0 + (index / options.nodes.length) * intervalMs,
    sentAt: -1,
    owed: false,
    pending: null,
    bodyLeft: -1,
    status: 0,
  }));
  // Starts go round-robin: every node has the same interval, so due times stay in this order.
  let cursor = 0;
  let running = true;
  let timer: NodeJS.Timeout | null = null;
  // Probes in flight in start order: a timeout is always at the head.
  const started = new Int32Array(4 * states.length + 16);
  let head = 0;
  let tail = 0;

  const finish = (state: NodeState, status: number, reason: string): void => {
    state.sentAt = -1;
    state.pending = null;
    state.bodyLeft = -1;
    options.onEnd(status, reason);
    if (state.owed && running) {
      state.owed = false;
      // The owed probe was due one interval before the next one.
      send(state, Date.now(), state.due - intervalMs);
    }
  };

  const fail = (state: NodeState, reason: string): void => {
    const socket = state.socket;
    state.socket = null;
    socket?.destroy();
    if (state.sentAt >= 0) finish(state, 0, reason);
  };

  const onData = (state: NodeState, chunk: Buffer): void => {
    if (state.sentAt < 0) return;
    let data = state.pending ? Buffer.concat([state.pending, chunk]) : chunk;
    if (state.bodyLeft < 0) {
      const end = data.indexOf(CRLF2);
      if (end < 0) {
        state.pending = data;
        return;
      }
      // "HTTP/1.1 200 OK": the status is bytes 9..11.
      state.status = (data[9]! - 48) * 100 + (data[10]! - 48) * 10 + (data[11]! - 48);
      const length = CONTENT_LENGTH.exec(data.toString('latin1', 0, end));
      if (!length) return fail(state, 'no content-length');
      state.bodyLeft = Number(length[1]);
      data = data.subarray(end + 4);
    }
    state.bodyLeft -= data.length;
    state.pending = null;
    if (state.bodyLeft <= 0) finish(state, state.status, '');
  };

  const openSocket = (state: NodeState): Socket => {
    options.onConnect();
    const socket = options.tls
      ? tlsConnect({ host: state.address, port: state.port, secureContext: secureContext as SecureContext, servername: options.tls.servername })
      : netConnect({ host: state.address, port: state.port });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => onData(state, chunk));
    socket.on('error', () => (state.socket === socket ? fail(state, 'socket error') : undefined));
    socket.on('close', () => (state.socket === socket ? fail(state, 'closed') : undefined));
    return socket;
  };

  const send = (state: NodeState, now: number, due: number): void => {
    options.onStart(now - due);
    state.sentAt = now;
    started[tail] = state.index;
    tail = (tail + 1) % started.length;
    state.socket ??= openSocket(state);
    state.socket.write(state.request);
  };

  const expire = (now: number): void => {
    while (head !== tail) {
      const state = states[started[head]!]!;
      if (state.sentAt >= 0 && now - state.sentAt < timeoutMs) break;
      head = (head + 1) % started.length;
      if (state.sentAt >= 0) fail(state, 'timeout');
    }
  };

  const tick = (): void => {
    timer = null;
    if (!running) return;
    const now = Date.now();
    expire(now);
    for (let n = 0; n < states.length; n += 1) {
      const state = states[cursor]!;
      if (state.due > now) break;
      if (state.sentAt >= 0) state.owed = true;
      else send(state, now, state.due);
      state.due += intervalMs;
      cursor = (cursor + 1) % states.length;
    }
    timer = setTimeout(tick, Math.max(0, states[cursor]!.due - Date.now()));
  };
  // Connect everything first, a few at a time, so the measured loop starts on open keep-alive
  // sockets (the benchmark measures the steady state, not a thundering herd of handshakes).
  await new Promise<void>((resolve) => {
    let next = 0;
    let open = 0;
    const more = (): void => {
      while (open < WARM_CONCURRENCY && next < states.length) {
        const state = states[next++]!;
        const socket = (state.socket = openSocket(state));
        open += 1;
        let settled = false;
        const settle = (): void => {
          if (settled) return;
          settled = true;
          open -= 1;
          if (next === states.length && open === 0) resolve();
          else more();
        };
        socket.once(options.tls ? 'secureConnect' : 'connect', settle);
        socket.once('close', settle);
      }
    };
    if (states.length === 0) resolve();
    else more();
  });
  now0 = Date.now();
  states.forEach((state, index) => (state.due = now0 + (index / states.length) * intervalMs));
  tick();
  return () => {
    running = false;
    if (timer) clearTimeout(timer);
    for (const state of states) {
      const socket = state.socket;
      state.socket = null;
      socket?.destroy();
    }
  };
}
