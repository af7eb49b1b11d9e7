// A Management Node whose error page echoes the request: the logs (at trace level) and errors never carry the credentials.

import { createServer } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { redactExcerpt } from '../../../src/core/redact.js';
import { createLogger } from '../../../src/service/log.js';
import { ManagementWriter } from '../../../src/sources/management/writes.js';
import { startTestService, waitFor } from '../../helpers/service.js';
import type { AddressInfo } from 'node:net';

const USER = 'admin';
const PASSWORD = 'hunter2-Sup3r-secret';
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

/** Answers 500 with an HTML page that echoes every request header and the body, as some proxies' error pages do. */
async function echoingServer(): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end(`Authorization: ${req.headers.authorization ?? ''} - <html><body>Internal error. Request: ${JSON.stringify(req.headers)} body=${body}</body></html>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function expectNoCredential(text: string): void {
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(BASIC);
  expect(text).not.toMatch(/Basic [A-Za-z0-9+/=]{8,}/);
}

describe('Management Node error pages that echo credentials', () => {
  it('logs the status, the content type and a short redacted excerpt of a polled 500 page, at trace level too', async () => {
    const url = await echoingServer();
    let logged = '';
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => (logged += chunk.toString()));
    const dw = await startTestService(
      {
        nodes: [{ name: 'px01', address: '127.0.0.1', port: 9, status_url: 'http://127.0.0.1:9/' }],
        management: { url, username: USER, password_env: 'DW_TEST_ECHO_PASSWORD', interval: '100ms' },
      },
      { env: { ...process.env, DW_TEST_ECHO_PASSWORD: PASSWORD }, logger: createLogger({ level: 'trace', destination }) },
    );
    onTestFinished(() => dw.close());
    await waitFor(() => logged.includes('HTTP 500'), 5000, 25, 'a logged poll failure');
    expect(logged).toContain('text/html');
    expectNoCredential(logged);
    for (const line of logged.trim().split('\n')) {
      const message = JSON.stringify(JSON.parse(line));
      const excerpt = /HTTP 500[^"]*/.exec(message)?.[0] ?? '';
      expect(excerpt.length).toBeLessThan(400);
    }
  });

  it('keeps the credentials out of a failed maintenance write', async () => {
    const url = await echoingServer();
    const writer = new ManagementWriter({ url, username: USER, password: PASSWORD, timeoutMs: 1000, attempts: 1 });
    onTestFinished(() => writer.destroy());
    const outcome = await writer.setMaintenance(1, true, 'drainwatch plan');
    expect(outcome.ok).toBe(false);
    expectNoCredential(JSON.stringify(outcome));
  });

  it.each([
    ['Authorization: Basic YWRtaW46aHVudGVyMg==', 'Authorization: ***'],
    ['{"authorization":"Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc"}', '{"authorization":"***"}'],
    ['password=hunter2&x=1', 'password=***&x=1'],
    ['session dGhpcyBpcyBhIGxvbmcgdG9rZW4=', 'session ***'],
    ['Service Unavailable', 'Service Unavailable'],
  ])('redacts %j to %j', (input, expected) => {
    expect(redactExcerpt(input)).toBe(expected);
  });
});
