// HttpServer.destroy(): cuts every connection at once, also while a graceful close() waits on them; idempotent.

import { connect } from 'node:net';
import { Hono } from 'hono';
import { describe, expect, it, onTestFinished } from 'vitest';
import { HttpServer } from '../../../src/operator/http/server.js';
import { silentLogger } from '../../../src/core/logger.js';
import { waitFor } from '../../helpers/service.js';
import type { Socket } from 'node:net';

/** A server with /slow (answers only when told) and /fast; `arrived` settles when /slow has a request. */
async function start() {
  let arrived!: () => void;
  const slowArrived = new Promise<void>((resolve) => (arrived = resolve));
  const app = new Hono();
  app.get('/fast', (c) => c.text('ok'));
  app.get('/slow', async (c) => {
    arrived();
    await new Promise((resolve) => setTimeout(resolve, 60_000).unref());
    return c.text('late');
  });
  const server = new HttpServer(app, { listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger });
  await server.start();
  onTestFinished(() => server.destroy());
  return { server, port: server.address().port, slowArrived };
}

/** A raw client that sends `requests` (keep-alive) and records when the server cut it. */
function client(port: number, requests: string): { socket: Socket; closed: Promise<number>; received: () => string } {
  const socket = connect({ host: '127.0.0.1', port }, () => socket.write(requests));
  onTestFinished(() => void socket.destroy());
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  socket.on('error', () => undefined);
  const opened = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
  return { socket, closed, received: () => received };
}

describe('HttpServer.destroy()', () => {
  it('cuts a slow request that a pending graceful close() is still waiting for', async () => {
    const { server, port, slowArrived } = await start();
    const slow = client(port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await slowArrived;
    let closeDone = false;
    const closing = server.close(60_000).then(() => (closeDone = true));
    // A second graceful close does nothing while the first waits: the request is still held.
    await server.close(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(closeDone).toBe(false);
    expect(server.connections()).toBe(1);

    await server.destroy();
    await slow.closed;
    await closing;
    expect(closeDone).toBe(true);
    expect(slow.received()).toBe('');
    // The server side sees the close a moment after the client does.
    await waitFor(() => server.connections() === 0, 2000, 10, 'connection released');
  });

  it('cuts a keep-alive connection busy with its second request and refuses new connections, and a second destroy() is a no-op', async () => {
    const { server, port, slowArrived } = await start();
    // One finished request on the connection, then a slow one pipelined behind it: a busy keep-alive connection.
    const kept = client(port, 'GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await slowArrived;
    await waitFor(() => kept.received().includes('200 OK'), 2000, 10, 'the first answer on the kept connection');
    const closing = server.close(60_000);
    const started = Date.now();
    await server.destroy();
    await kept.closed;
    await closing;
    expect(Date.now() - started).toBeLessThan(5000);
    await server.destroy();
    const refused = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('connect', () => { socket.destroy(); resolve('connected'); });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('resolves at once before start() and after a finished close()', async () => {
    const server = new HttpServer(new Hono(), { listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger });
    await server.destroy();
    await server.start();
    await server.close(0);
    await server.destroy();
  });
});
