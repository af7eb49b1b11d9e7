// The shared HTTP plumbing: network-error text and the bounded body reader over a createHttpAgent Agent.

import { createServer } from 'node:http';
import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BODY_TOO_LARGE, createHttpAgent, describeNetworkError, readBounded } from '../../src/sources/http-client.js';
import type { AddressInfo } from 'node:net';

describe('describeNetworkError', () => {
  it.each([
    ['the code before a message that lacks it', Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), 'UND_ERR_CONNECT_TIMEOUT Connect Timeout Error'],
    ['the message alone when it names the code', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'connect ECONNREFUSED 127.0.0.1:1'],
    ['the cause\'s code too', Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }), 'ECONNRESET fetch failed'],
    ['an AggregateError\'s inner messages', Object.assign(new AggregateError([new Error('connect ECONNREFUSED ::1:1'), new Error('connect ECONNREFUSED 127.0.0.1:1')]), { code: 'ECONNREFUSED' }), 'connect ECONNREFUSED ::1:1; connect ECONNREFUSED 127.0.0.1:1'],
    ['one line without control characters', new Error('bad\r\nthing'), 'bad thing'],
    ['something for an empty error', new Error(''), 'network error'],
    ['a thrown non-error as text', 'boom', 'boom'],
  ])('gives %s', (_label, error, expected) => {
    expect(describeNetworkError(error)).toBe(expected);
  });
});

async function serve(body: string): Promise<string> {
  const server = createServer((_req, res) => res.end(body));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('readBounded', () => {
  it('reads a body up to its limit', async () => {
    const agent = createHttpAgent({ timeoutMs: 2000, connections: 1, keepAliveMs: 1000 });
    onTestFinished(() => agent.destroy());
    const response = await request(await serve('x'.repeat(100)), { dispatcher: agent });
    expect((await readBounded(response.body, 100)).toString('utf8')).toBe('x'.repeat(100));
  });

  it('rejects a body over its limit with a stable code', async () => {
    const agent = createHttpAgent({ timeoutMs: 2000, connections: 1, keepAliveMs: 1000 });
    onTestFinished(() => agent.destroy());
    const response = await request(await serve('x'.repeat(101)), { dispatcher: agent });
    await expect(readBounded(response.body, 100)).rejects.toMatchObject({ code: BODY_TOO_LARGE, message: 'body larger than 100 bytes' });
  });
});
