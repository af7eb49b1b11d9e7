// GET/HEAD /envoy/health answers Envoy's active health checks on each node's behalf (DESIGN §2 table).

import { describe, expect, test } from 'vitest';
import { createEnvoyHealth } from '../../../src/frontends/envoy/health-routes.js';
import { healthAnswer, hostToName, unknownNodeBody, UNKNOWN_STATUS } from '../../../src/frontends/envoy/health-answer.js';
import { counterValue, testContext, verdict } from './fixtures.js';
import type { NodeState } from '../../../src/core/verdict.js';

const fleet = () => [
  verdict('px01', 'ready', { weight: 60 }),
  verdict('px02', 'ready', { weight: 5, degraded: true, load: 95 }),
  verdict('px03', 'draining', { reason: 'Software upgrade' }),
  verdict('px04', 'maint', { reason: 'operator override: replacing disk' }),
  verdict('px05', 'down', { reason: 'refused (2 in a row)' }),
  verdict('px06', 'unknown', { reason: 'no probe result yet' }),
];

function setup() {
  const context = testContext(fleet());
  createEnvoyHealth(context);
  const get = (path: string, host?: string, method = 'GET') => context.app.request(path, { method, headers: host === undefined ? {} : { host } });
  return { context, get };
}

const IMMEDIATE = 'x-envoy-immediate-health-check-fail';
const DEGRADED = 'x-envoy-degraded';

describe('the status/header table', () => {
  test.each([
    ['px01', 'ready', 200, null, null, 'px01 ready weight 60: ready because the test says so\n'],
    ['px02', 'ready', 200, null, 'true', 'px02 ready weight 5 (degraded): ready because the test says so\n'],
    ['px03', 'draining', 503, 'true', null, 'px03 draining: Software upgrade\n'],
    ['px04', 'maint', 503, 'true', null, 'px04 maint: operator override: replacing disk\n'],
    ['px05', 'down', 503, null, null, 'px05 down: refused (2 in a row)\n'],
    ['px06', 'unknown', UNKNOWN_STATUS, null, null, 'px06 unknown: no probe result yet\n'],
  ])('%s (%s) → %i, immediate-fail %s, degraded %s', async (name, state, status, immediate, degraded, body) => {
    const { get } = setup();
    for (const response of [await get('/envoy/health', name), await get(`/envoy/health/${name}`)]) {
      expect(response.status).toBe(status);
      expect(response.headers.get(IMMEDIATE)).toBe(immediate);
      expect(response.headers.get(DEGRADED)).toBe(degraded);
      expect(response.headers.get('x-drainwatch-state')).toBe(state);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toBe(body);
    }
  });

  test('the pure table matches every state', () => {
    const states: NodeState[] = ['ready', 'draining', 'maint', 'down', 'unknown'];
    expect(states.map((state) => healthAnswer(verdict('n', state)).status)).toEqual([200, 503, 503, 503, 504]);
  });

  test('HEAD answers with the same status and headers and no body', async () => {
    const { get } = setup();
    const head = await get('/envoy/health', 'px03', 'HEAD');
    expect(head.status).toBe(503);
    expect(head.headers.get(IMMEDIATE)).toBe('true');
    expect(await head.text()).toBe('');
    expect((await get('/envoy/health', 'px02:9555', 'HEAD')).headers.get(DEGRADED)).toBe('true');
  });

  test('a reason with line breaks stays on one line', () => {
    expect(healthAnswer(verdict('px09', 'draining', { reason: 'line one\r\nline two' })).body).toBe('px09 draining: line one line two\n');
  });
});

describe('the Host header', () => {
  test.each([
    ['px03', 'px03'],
    ['px03:9555', 'px03'],
    ['PX03:9555', 'PX03'],
    ['[::1]:9555', '::1'],
    ['::1', '::1'],
    ['', ''],
  ])('%j names node %j', (host, name) => {
    expect(hostToName(host)).toBe(name);
  });

  test('works with and without a port, and ignores case', async () => {
    const { get } = setup();
    expect((await get('/envoy/health', 'px03')).status).toBe(503);
    expect((await get('/envoy/health', 'px03:9555')).status).toBe(503);
    expect((await get('/envoy/health', 'PX01:80')).status).toBe(200);
  });
});

describe('unknown names', () => {
  test('a Host naming no node gets 404 listing the known names', async () => {
    const { get } = setup();
    const response = await get('/envoy/health', 'px99:9555');
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('unknown node "px99" (from the Host header); known nodes: px01, px02, px03, px04, px05, px06\n');
  });

  test('a path naming no node gets 404 listing the known names', async () => {
    const { get } = setup();
    const response = await get('/envoy/health/nope');
    expect(response.status).toBe(404);
    expect(await response.text()).toMatch(/^unknown node "nope" \(from the URL path\); known nodes: px01, px02/);
  });

  test('drainwatch\'s own address as Host (health_check_config.hostname forgotten) is a 404, not a pass', async () => {
    const { get } = setup();
    const response = await get('/envoy/health', '127.0.0.1:9555');
    expect(response.status).toBe(404);
    expect(await response.text()).toMatch(/unknown node "127.0.0.1"/);
  });

  test('long inventories are cut in the message', () => {
    const names = Array.from({ length: 60 }, (_, i) => `n${i}`);
    expect(unknownNodeBody('x', names, 'the Host header')).toMatch(/n49 and 10 more\n$/);
    expect(unknownNodeBody('', [], 'the Host header')).toBe('no node name (the Host header is empty); known nodes: (none)\n');
  });
});

test('every answer is counted by status code', async () => {
  const { get, context } = setup();
  await get('/envoy/health', 'px01');
  await get('/envoy/health', 'px03');
  await get('/envoy/health/px05');
  await get('/envoy/health', 'px99');
  const count = (code: string) => counterValue(context.metrics, 'drainwatch_envoy_health_requests_total', { code });
  expect([await count('200'), await count('503'), await count('404'), await count('504')]).toEqual([1, 2, 1, 0]);
});

test('the answer follows the current snapshot', async () => {
  const { get, context } = setup();
  expect((await get('/envoy/health', 'px01')).status).toBe(200);
  context.source.set([verdict('px01', 'draining')]);
  expect((await get('/envoy/health', 'px01')).status).toBe(503);
});
