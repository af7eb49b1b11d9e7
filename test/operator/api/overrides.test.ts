// PUT/DELETE /api/v1/nodes/{name}/override: authentication, validation, audit log, persistence and expiry.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tokenMatches } from '../../../src/operator/api/overrides.js';
import { waitFor } from '../../helpers/service.js';
import { TOKEN, captureLogger, nodeState, override, startSimulator, watch } from '../fleet.js';

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-override-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('override API tokens', () => {
  it('compares tokens by digest, so different lengths are simply unequal', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'abcd')).toBe(false);
    expect(tokenMatches('', 'abc')).toBe(false);
  });
});

describe('override API authentication', () => {
  it('answers 403 saying how to enable overrides when no token is configured', async () => {
    const sim = await startSimulator(1);
    const svc = await watch(sim, { token: false });
    const { status, json } = await override(svc.url, 'px01', 'PUT', { state: 'drain', reason: 'x' });
    expect(status).toBe(403);
    expect(String(json.error)).toMatch(/no admin token is configured; set http\.admin_token_env .* or http\.admin_token_file/);
    expect((await override(svc.url, 'px01', 'DELETE', undefined, null)).status).toBe(403);
    expect((await nodeState(svc.url, 'px01')).override).toBeNull();
  });

  it('answers 401 with WWW-Authenticate without a token and with a wrong one, and changes nothing', async () => {
    const sim = await startSimulator(1);
    const logger = captureLogger();
    const svc = await watch(sim, { service: { logger } });
    const missing = await override(svc.url, 'px01', 'PUT', { state: 'drain', reason: 'x' }, null);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer realm="drainwatch"/);
    const wrong = await override(svc.url, 'px01', 'PUT', { state: 'drain', reason: 'x' }, `${TOKEN}x`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const basic = await override(svc.url, 'px01', 'DELETE', undefined, null, { authorization: `Basic ${Buffer.from(`a:${TOKEN}`).toString('base64')}` });
    expect(basic.status).toBe(401);
    // Refusals are logged with the remote address, never the token.
    const refused = logger.lines.filter((l) => l.message.startsWith('override request refused'));
    expect(refused.length).toBe(3);
    expect(refused[0]?.fields.remote).toBe('127.0.0.1');
    expect(JSON.stringify(logger.lines)).not.toContain(TOKEN);
    expect((await nodeState(svc.url, 'px01')).override).toBeNull();
  });

  it('checks the token before revealing whether a node exists', async () => {
    const sim = await startSimulator(1);
    const svc = await watch(sim);
    expect((await override(svc.url, 'nope', 'PUT', { state: 'drain', reason: 'x' }, null)).status).toBe(401);
    const unknown = await override(svc.url, 'nope', 'PUT', { state: 'drain', reason: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: 'unknown node "nope"', known: ['px01'] });
  });
});

describe('override API with a valid token', () => {
  it('drains a node, logs who/what/why, and clears it again', async () => {
    const sim = await startSimulator(2);
    const logger = captureLogger();
    const svc = await watch(sim, { service: { logger } });
    const put = await override(svc.url, 'px02', 'PUT', { state: 'drain', reason: 'swap disk', expires_in: '1h' }, TOKEN, { 'x-drainwatch-user': 'alice' });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ node: { name: 'px02', state: 'draining', reason: 'operator override: swap disk', override: { state: 'drain', by: 'alice from 127.0.0.1' } } });
    expect((await nodeState(svc.url, 'px02')).state).toBe('draining');
    expect((await nodeState(svc.url, 'px01')).state).toBe('ready');
    const audit = logger.lines.find((l) => l.fields.audit === 'override.set');
    expect(audit?.fields).toMatchObject({ node: 'px02', state: 'drain', reason: 'swap disk', user: 'alice', remote: '127.0.0.1', credential: 'admin token' });
    expect(audit?.message).toBe('override on px02 set to drain by alice from 127.0.0.1: swap disk');

    const maint = await override(svc.url, 'px02', 'PUT', { state: 'maint', reason: 'remove from service' });
    expect(maint.json).toMatchObject({ node: { state: 'maint', override: { by: 'admin token holder from 127.0.0.1' } } });

    const del = await override(svc.url, 'px02', 'DELETE', { reason: 'disk swapped' }, TOKEN, { 'x-drainwatch-user': 'bob' });
    expect(del.status).toBe(200);
    expect(del.json).toMatchObject({ cleared: true, node: { state: 'ready', override: null } });
    expect(logger.lines.find((l) => l.fields.audit === 'override.clear')?.fields).toMatchObject({ node: 'px02', reason: 'disk swapped', user: 'bob', previous: { state: 'maint' } });
    const again = await override(svc.url, 'px02', 'DELETE');
    expect(again.json).toMatchObject({ cleared: false, message: 'node "px02" had no override' });
  });

  it('answers 400 with every problem for a bad body and 413 for an oversized one', async () => {
    const sim = await startSimulator(1);
    const svc = await watch(sim, { config: { http: { body_limit: 1024 } } });
    const bad = await override(svc.url, 'px01', 'PUT', { state: 'sideways', expires_in: 'later' });
    expect(bad.status).toBe(400);
    expect(bad.json.problems).toEqual([
      '"state" must be one of "drain", "maint", "ready" (got "sideways")',
      '"reason" is required: say why (it is logged and shown on the dashboard)',
      '"expires_in": "later" is not a duration; write it like "90s", "30m" or "1h"',
    ]);
    const big = await override(svc.url, 'px01', 'PUT', JSON.stringify({ state: 'drain', reason: 'x', pad: 'y'.repeat(2000) }));
    expect(big.status).toBe(413);
    expect(String(big.json.error)).toMatch(/over the 1024-byte limit \(http\.body_limit\)/);
    expect((await override(svc.url, 'px01', 'DELETE', '{"reason": 1}')).status).toBe(400);
    expect((await nodeState(svc.url, 'px01')).override).toBeNull();
  });

  it('keeps an override in force across a restart with the same state.file', async () => {
    const sim = await startSimulator(2);
    const file = join(stateDir(), 'overrides.json');
    const first = await watch(sim, { config: { state: { file } } });
    const put = await override(first.url, 'px01', 'PUT', { state: 'drain', reason: 'rack work', expires_in: '2h' });
    expect(put.json.persisted).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ overrides: { px01: { state: 'drain', reason: 'rack work' } } });
    await first.close();

    const logger = captureLogger();
    const second = await watch(sim, { config: { state: { file } }, service: { logger } });
    const node = await nodeState(second.url, 'px01');
    expect(node.state).toBe('draining');
    expect(node.override).toMatchObject({ state: 'drain', reason: 'rack work' });
    expect(logger.lines.some((l) => l.message === 'restored 1 override(s) from the state file')).toBe(true);
  });

  it('starts with a clear error and no overrides when the state file is corrupt, keeping it as .corrupt', async () => {
    const sim = await startSimulator(1);
    const dir = stateDir();
    const file = join(dir, 'overrides.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, 'garbage');
    const logger = captureLogger();
    const svc = await watch(sim, { config: { state: { file } }, service: { logger } });
    expect((await nodeState(svc.url, 'px01')).state).toBe('ready');
    expect(readFileSync(`${file}.corrupt`, 'utf8')).toBe('garbage');
    expect(logger.lines.some((l) => l.level === 'error' && /overrides\.json is unusable/.test(l.message))).toBe(true);
  });

  it('lets an override expire: the node returns to its probed state and the state file forgets it', async () => {
    const sim = await startSimulator(1);
    const file = join(stateDir(), 'overrides.json');
    const svc = await watch(sim, { config: { state: { file } } });
    const put = await override(svc.url, 'px01', 'PUT', { state: 'maint', reason: 'short', expires_in: '1s' });
    expect(put.json).toMatchObject({ node: { state: 'maint' } });
    // The core drops expired overrides on its next tick (≤ 250 ms after the verdict already ignores them).
    await waitFor(async () => {
      const node = await nodeState(svc.url, 'px01');
      return node.state === 'ready' && node.override === null;
    }, 5000, 50, 'the override to expire');
    await waitFor(() => Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { overrides: object }).overrides).length === 0, 3000, 50, 'the state file to drop it');
  });
});
