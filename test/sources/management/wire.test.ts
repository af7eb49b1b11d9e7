// Pure parts of the Management Node client: page parsing, calls, templates, discovery join, back-off.

import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/sources/management/poller.js';
import { callsFrom, observationFrom, parseConfigurationPage, parseStatusPage } from '../../../src/sources/management/wire.js';
import { discoverNodes, fillTemplate } from '../../../src/sources/management/discovery.js';
import { hasCode } from '../../../src/core/errors.js';

const statusObject = (over: Record<string, unknown> = {}) => ({
  id: 1,
  name: 'px01',
  node_type: 'CONFERENCING',
  configuration_id: 11,
  maintenance_mode: false,
  maintenance_mode_reason: '',
  media_load: 37,
  media_tokens_used: 9,
  max_media_tokens: 120,
  signaling_count: 3,
  sync_status: 'SYNCED',
  last_updated: '2026-11-28T03:15:00.123000',
  ...over,
});

const envelope = (objects: unknown[], next: string | null = null) => ({
  meta: { limit: 20, next, offset: 0, previous: null, total_count: objects.length },
  objects,
});

function malformedMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(hasCode(error, 'DW_MANAGEMENT_MALFORMED')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a DW_MANAGEMENT_MALFORMED error');
}

describe('parseStatusPage', () => {
  it('reads the fields drainwatch uses from a worker_vm status page', () => {
    const page = parseStatusPage(envelope([statusObject()], '/api/admin/status/v1/worker_vm/?limit=1&offset=1'), 'u');
    expect(page.next).toBe('/api/admin/status/v1/worker_vm/?limit=1&offset=1');
    expect(page.totalCount).toBe(1);
    expect(page.objects[0]).toEqual({
      id: 1, name: 'px01', nodeType: 'CONFERENCING', configurationId: 11, maintenance: false, maintenanceReason: '',
      mediaLoad: 37, mediaTokensUsed: 9, maxMediaTokens: 120, signalingCount: 3,
    });
  });

  it.each([
    ['a body that is not an object', [1, 2], 'expected a JSON object'],
    ['no objects list', { meta: {} }, '"objects" is missing'],
    ['no meta', { objects: [] }, '"meta" is missing'],
    ['a next that is not a string', { meta: { next: 5 }, objects: [] }, 'meta.next'],
    ['an object without a name', envelope([statusObject({ name: undefined })]), 'objects[0].name must be a non-empty string (missing)'],
    ['maintenance_mode as a string', envelope([statusObject({ maintenance_mode: 'yes' })]), 'objects[0].maintenance_mode must be true or false'],
    ['a missing media_load', envelope([statusObject({ media_load: undefined })]), 'objects[0].media_load must be a number'],
    ['a negative signaling_count', envelope([statusObject({ signaling_count: -1 })]), 'objects[0].signaling_count must be a number'],
    ['an entry that is not an object', envelope([statusObject(), 'px02']), 'objects[1] is not an object'],
  ])('rejects %s with a clear message', (_what, body, expected) => {
    const message = malformedMessage(() => parseStatusPage(body, 'https://mgr/api/admin/status/v1/worker_vm/'));
    expect(message).toContain(expected);
    expect(message).toContain('https://mgr/api/admin/status/v1/worker_vm/');
    expect(message).toContain('nothing was changed');
  });

  it('accepts null counters as unknown', () => {
    const page = parseStatusPage(envelope([statusObject({ signaling_count: null, media_tokens_used: null, configuration_id: null })]), 'u');
    expect(page.objects[0]?.signalingCount).toBeNull();
    expect(page.objects[0]?.configurationId).toBeNull();
  });

  it('keeps the maintenance reason printable and short', () => {
    const page = parseStatusPage(envelope([statusObject({ maintenance_mode: true, maintenance_mode_reason: 'Upgrade\nwindow\u0000 ' + 'x'.repeat(400) })]), 'u');
    expect(page.objects[0]?.maintenanceReason.startsWith('Upgrade window x')).toBe(true);
    expect(page.objects[0]?.maintenanceReason.length).toBeLessThanOrEqual(200);
  });
});

describe('parseConfigurationPage', () => {
  const config = (over: Record<string, unknown> = {}) => ({ id: 11, name: 'px01', hostname: 'px01', domain: 'example.com', address: '10.0.0.11', node_type: 'conferencing', x_sim_port: 40001, ...over });

  it('reads address, hostname and domain, and the port only from the configured field', () => {
    expect(parseConfigurationPage(envelope([config()]), 'u').objects[0]).toEqual({ id: 11, name: 'px01', address: '10.0.0.11', hostname: 'px01', domain: 'example.com', port: null });
    expect(parseConfigurationPage(envelope([config()]), 'u', 'x_sim_port').objects[0]?.port).toBe(40001);
  });

  it.each([
    ['a missing address', config({ address: undefined }), 'objects[0].address must be an address'],
    ['a non-integer id', config({ id: '11' }), 'objects[0].id must be an integer'],
    ['a port out of range', config({ x_sim_port: 70000 }), 'objects[0].x_sim_port must be a port'],
  ])('rejects %s', (_what, object, expected) => {
    expect(malformedMessage(() => parseConfigurationPage(envelope([object]), 'u', 'x_sim_port'))).toContain(expected);
  });
});

describe('callsFrom', () => {
  it.each([
    [{ signalingCount: 4, mediaTokensUsed: 12 }, 4],
    [{ signalingCount: 0, mediaTokensUsed: 0 }, 0],
    [{ signalingCount: 0, mediaTokensUsed: 3 }, 1],
    [{ signalingCount: null, mediaTokensUsed: 0 }, 0],
    [{ signalingCount: 2, mediaTokensUsed: null }, 2],
    [{ signalingCount: null, mediaTokensUsed: null }, null],
  ])('%j gives %s calls', (input, expected) => {
    expect(callsFrom(input)).toBe(expected);
  });

  it('turns a status object into a fresh observation', () => {
    const status = parseStatusPage(envelope([statusObject({ maintenance_mode: true, maintenance_mode_reason: 'Upgrade', media_load: 100 })]), 'u').objects[0]!;
    expect(observationFrom(status, 1234)).toEqual({ maintenance: true, reason: 'Upgrade', load: 100, calls: 3, at: 1234, stale: false });
  });
});

describe('fillTemplate', () => {
  const values = { address: '10.0.0.5', port: 8443, name: 'px01', hostname: 'px01', domain: 'example.com' };
  it.each([
    ['https://{address}/api/client/v2/status', 'https://10.0.0.5/api/client/v2/status'],
    ['http://{address}:{port}/api/client/v2/status', 'http://10.0.0.5:8443/api/client/v2/status'],
    ['https://{fqdn}/api/client/v2/status', 'https://px01.example.com/api/client/v2/status'],
    ['https://{address}/s?n={name}&h={hostname}&d={domain}', 'https://10.0.0.5/s?n=px01&h=px01&d=example.com'],
  ])('%s', (template, expected) => {
    expect(fillTemplate(template, values)).toBe(expected);
  });

  it('brackets IPv6 addresses', () => {
    expect(fillTemplate('https://{address}:{port}/x', { ...values, address: 'fd00::5' })).toBe('https://[fd00::5]:8443/x');
  });
});

describe('discoverNodes', () => {
  const statuses = parseStatusPage(envelope([
    statusObject({ id: 1, name: 'px01', configuration_id: 11 }),
    statusObject({ id: 2, name: 'px02', configuration_id: 12 }),
    statusObject({ id: 3, name: 'edge01', node_type: 'PROXYING', configuration_id: 13 }),
    statusObject({ id: 4, name: 'px04', configuration_id: 99 }),
    statusObject({ id: 5, name: 'bad name', configuration_id: 12 }),
  ]), 'u').objects;
  const configurations = parseConfigurationPage(envelope([
    { id: 11, name: 'px01', address: '10.0.0.11', hostname: 'px01', domain: 'example.com', x_sim_port: 40001 },
    { id: 12, name: 'px02', address: '10.0.0.12', hostname: 'px02', domain: 'example.com' },
    { id: 13, name: 'edge01', address: '10.0.0.13' },
  ]), 'u', 'x_sim_port').objects;

  it('keeps CONFERENCING nodes joined on configuration_id, with node_port unless the object gives a port', () => {
    const { nodes, skipped } = discoverNodes(statuses, configurations, { nodePort: 443, statusUrlTemplate: 'https://{address}:{port}/api/client/v2/status' });
    expect(nodes).toEqual([
      { name: 'px01', address: '10.0.0.11', port: 40001, statusUrl: 'https://10.0.0.11:40001/api/client/v2/status', source: 'discovered' },
      { name: 'px02', address: '10.0.0.12', port: 443, statusUrl: 'https://10.0.0.12:443/api/client/v2/status', source: 'discovered' },
    ]);
    expect(skipped.map((skip) => skip.name)).toEqual(['px04', 'bad name']);
    expect(skipped[0]?.why).toContain('no configuration object with id 99');
  });
});

describe('backoffDelay', () => {
  it.each([
    [15_000, 0, 15_000],
    [15_000, 1, 30_000],
    [15_000, 2, 60_000],
    [15_000, 3, 120_000],
    [15_000, 10, 120_000],
    [60_000, 5, 300_000],
    [600_000, 3, 600_000],
    [200, 20, 1600],
  ])('interval %ims after %i failures waits %ims', (interval, failures, expected) => {
    expect(backoffDelay(interval, failures)).toBe(expected);
  });
});
