// A Management Node that lists a name twice: one record for inventory and data (the one in maintenance), one warning per name.

import { createServer } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManagementPoller } from '../../../src/sources/management/poller.js';
import { captureLogger } from '../../operator/fleet.js';
import type { AddressInfo } from 'node:net';
import type { SweepResult } from '../../../src/sources/management/poller.js';

const status = (id: number, name: string, maintenance: boolean, load: number) => ({
  id, name, node_type: 'CONFERENCING', configuration_id: id, maintenance_mode: maintenance, maintenance_mode_reason: maintenance ? 'upgrade' : '', media_load: load,
});

/** A Management Node listing px01 twice: first available (load 10, at 10.0.0.1), then in maintenance (100, at 10.0.0.3). */
async function managementNode(): Promise<string> {
  const statuses = [status(1, 'px01', false, 10), status(2, 'px02', false, 20), status(3, 'px01', true, 100)];
  const configurations = [1, 2, 3].map((id) => ({ id, name: `vm${id}`, address: `10.0.0.${id}`, hostname: '', domain: '' }));
  const server = createServer((req, res) => {
    const objects = req.url?.includes('/status/') ? statuses : configurations;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ meta: { limit: 100, next: null, offset: 0, previous: null, total_count: objects.length }, objects }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('Management Node duplicates', () => {
  it('takes the record in maintenance for both inventory and load, and warns once per name over several sweeps', async () => {
    const url = await managementNode();
    const logger = captureLogger();
    const poller = new ManagementPoller({
      url, timeoutMs: 2000, pageSize: 100, maxPages: 10, intervalMs: 60_000, discover: true, nodePort: 443,
      statusUrlTemplate: 'https://{address}/api/client/v2/status', portField: null, logger,
      onSweep: () => undefined, onFailure: () => undefined,
    });
    onTestFinished(() => poller.destroy());
    let result: SweepResult | undefined;
    for (let i = 0; i < 3; i += 1) result = await poller.sweep();
    const observation = result?.observations.get('px01');
    expect(observation?.maintenance).toBe(true);
    expect(result?.discovered?.find((node) => node.name === 'px01')?.address).toBe('10.0.0.3');
    expect(result?.discovered?.map((node) => node.name)).toEqual(['px01', 'px02']);
    const warnings = logger.lines.filter((line) => /more than once/.test(line.message));
    expect(warnings.map((line) => line.fields.node)).toEqual(['px01']);
  });
});
