// A second floor for the prober benchmarks: undici Client.dispatch() with a minimal handler per node, the raw floor's schedule.

import { createSecureContext } from 'node:tls';
import { Client, buildConnector } from 'undici';
import type { Dispatcher } from 'undici';
import type { RawProberOptions } from './raw-prober.js';

/** One node's handler, reused by every probe: counts the status, drops the body. */
class MinimalHandler {
  status = 0;
  sentAt = -1;
  due = 0;
  abort: ((error?: Error) => void) | null = null;
  constructor(
    readonly client: Client,
    readonly onEnd: (status: number, reason: string) => void,
  ) {}
  onConnect(abort: (error?: Error) => void): void {
    this.abort = abort;
  }
  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }
  onData(): boolean {
    return true;
  }
  onComplete(): void {
    this.sentAt = -1;
    this.onEnd(this.status, '');
  }
  onError(error: Error): void {
    this.sentAt = -1;
    this.onEnd(0, (error as { code?: string }).code ?? error.name);
  }
}

/**
 * What undici's request path costs by itself: a Client per node, `dispatch()` with a handler
 * allocated once per node, starts spread evenly by one timer (as the raw floor), no state.
 */
export async function startDispatchProber(options: RawProberOptions): Promise<() => void> {
  const { intervalMs, timeoutMs } = options;
  const connect = buildConnector({
    timeout: timeoutMs,
    ...(options.tls ? { secureContext: createSecureContext({ ca: options.tls.ca }), servername: options.tls.servername, maxCachedSessions: 0 } : {}),
  });
  const urls = options.nodes.map((node) => new URL(node.statusUrl));
  const handlers = urls.map((url) => {
    const client = new Client(url.origin, { pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0, connect });
    client.on('connect', () => options.onConnect());
    return new MinimalHandler(client, options.onEnd);
  });
  const dispatchOptions: Dispatcher.DispatchOptions[] = urls.map((url) => ({ path: url.pathname, method: 'GET', headers: ['accept', 'application/json', 'user-agent', 'bench'] }));
  // Open every connection first, 64 at a time.
  let next = 0;
  const warm = async (): Promise<void> => {
    while (next < handlers.length) {
      const index = next++;
      await (handlers[index] as MinimalHandler).client.request({ ...(dispatchOptions[index] as Dispatcher.DispatchOptions) }).then((response) => response.body.dump(), () => undefined);
    }
  };
  await Promise.all(Array.from({ length: 64 }, warm));
  let running = true;
  let timer: NodeJS.Timeout | null = null;
  let cursor = 0;
  const now0 = Date.now();
  handlers.forEach((handler, index) => (handler.due = now0 + (index / handlers.length) * intervalMs));
  const tick = (): void => {
    timer = null;
    if (!running) return;
    const now = Date.now();
    for (let n = 0; n < handlers.length; n += 1) {
      const handler = handlers[cursor] as MinimalHandler;
      if (handler.due > now) break;
      if (handler.sentAt >= 0 && now - handler.sentAt >= timeoutMs) handler.abort?.(new Error('timeout'));
      if (handler.sentAt < 0) {
        options.onStart(now - handler.due);
        handler.sentAt = now;
        handler.client.dispatch(dispatchOptions[cursor] as Dispatcher.DispatchOptions, handler);
      }
      handler.due += intervalMs;
      cursor = (cursor + 1) % handlers.length;
    }
    timer = setTimeout(tick, Math.max(0, (handlers[cursor] as MinimalHandler).due - Date.now()));
  };
  tick();
  return () => {
    running = false;
    if (timer) clearTimeout(timer);
    for (const handler of handlers) void handler.client.destroy().catch(() => undefined);
  };
}
