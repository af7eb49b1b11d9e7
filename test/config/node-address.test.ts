// Node addresses: one table through static config (with `print haproxy` lines), discovery and the NGINX rendering.

import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { haproxyServerLines } from '../../src/cli/commands/print-haproxy.js';
import { discoverNodes, uniqueByName } from '../../src/sources/management/discovery.js';
import { renderUpstream } from '../../src/frontends/nginx/render.js';
import type { WorkerVmConfiguration, WorkerVmStatus } from '../../src/sources/management/wire.js';
import type { NodeVerdict } from '../../src/core/snapshot.js';

const VALID: Array<[string, string]> = [
  ['10.0.1.11', '10.0.1.11:443'],
  ['fd00::11', '[fd00::11]:443'],
  ['px01.example.com', 'px01.example.com:443'],
  ['localhost', 'localhost:443'],
  ['node-7', 'node-7:443'],
];
const INVALID = ['1.2.3.4:99', '127.0.0.1:41001', '999.1.1.1', '1.2.3.4.5', '-x', 'x-', '127.0.0.1/x#', 'admin@10.0.0.1', 'a b', '[fd00::1]', 'https://10.0.0.1', 'a..b', 'under_score.example'];

function load(address: string) {
  return loadConfigText(stringify({ nodes: [{ name: 'px01', address }], haproxy: { agent: null } }), { secrets: false });
}

function status(name: string, id: number, maintenance = false): WorkerVmStatus {
  return { id, name, nodeType: 'CONFERENCING', configurationId: id, maintenance, maintenanceReason: maintenance ? 'upgrade' : '', mediaLoad: 0, mediaTokensUsed: 0, maxMediaTokens: 100, signalingCount: 0 };
}

function configuration(id: number, address: string): WorkerVmConfiguration {
  return { id, name: `n${id}`, address, hostname: '', domain: '', port: null };
}

describe('node addresses', () => {
  it.each(VALID)('accepts %s in static config and prints "server px01 %s" for HAProxy', (address, hostPort) => {
    const result = load(address);
    expect(result.ok ? [] : result.errors).toEqual([]);
    if (!result.ok) return;
    expect(haproxyServerLines(result.config, { mode: 'agent', cookie: false })[0]).toContain(`server px01 ${hostPort} `);
  });

  it.each(INVALID)('rejects %j in static config with a sentence naming it', (address) => {
    const result = load(address);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.join('\n')).toContain(address);
  });

  it('skips every invalid discovered address with a reason and renders only the valid ones for NGINX', () => {
    const all = [...VALID.map(([address]) => address), ...INVALID];
    const statuses = all.map((_address, i) => status(`px${i}`, i));
    const found = discoverNodes(statuses, all.map((address, i) => configuration(i, address)), { nodePort: 443, statusUrlTemplate: 'https://{address}/api/client/v2/status' });
    expect(found.nodes.map((node) => node.address)).toEqual(VALID.map(([address]) => address));
    expect(found.skipped.map((skip) => skip.name)).toEqual(INVALID.map((_a, i) => `px${VALID.length + i}`));
    for (const node of found.nodes) expect(new URL(node.statusUrl ?? '').pathname).toBe('/api/client/v2/status');
    const verdicts = found.nodes.map((node) => ({ name: node.name, address: node.address, port: node.port, state: 'ready', weight: 100, reason: 'ok' }) as unknown as NodeVerdict);
    const text = renderUpstream({ version: 1, nodes: verdicts }, { upstream: 'pexip' }).text;
    for (const [, hostPort] of VALID) expect(text).toContain(`server ${hostPort} `);
    for (const address of INVALID) expect(text).not.toContain(address);
  });

  it('takes the record in maintenance when the Management Node lists a name twice, for inventory and data alike', () => {
    const records = uniqueByName([status('px01', 1), status('px02', 2), status('px01', 3, true), status('px02', 4)]);
    expect(records.duplicated).toEqual(['px01', 'px02']);
    const px01 = records.records.find((record) => record.name === 'px01');
    expect(px01?.maintenance).toBe(true);
    expect(px01?.configurationId).toBe(3);
    expect(records.records.find((record) => record.name === 'px02')?.configurationId).toBe(2);
  });
});
