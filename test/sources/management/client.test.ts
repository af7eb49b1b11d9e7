// The Management Node client and poller against the simulated Management Node (pagination, auth, bad answers).

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManagementClient } from '../../../src/sources/management/client.js';
import { ManagementPoller } from '../../../src/sources/management/poller.js';
import { STATUS_WORKER_VM_PATH, parseStatusPage } from '../../../src/sources/management/wire.js';
import { hasCode } from '../../../src/core/errors.js';
import { PASSWORD, USER, startFleet } from './helpers.js';
import type { ManagementClientOptions } from '../../../src/sources/management/client.js';
import type { SweepResult } from '../../../src/sources/management/poller.js';

function client(url: string, over: Partial<ManagementClientOptions> = {}): ManagementClient {
  const made = new ManagementClient({ url, username: USER, password: PASSWORD, timeoutMs: 2000, pageSize: 2, maxPages: 10, ...over });
  onTestFinished(() => made.destroy());
  return made;
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code: string };
  }
  throw new Error('expected a rejection');
}

describe('ManagementClient', () => {
  it('follows three pages of worker_vm status until next is null', async () => {
    const sim = await startFleet({ nodes: 5 });
    const before = sim.managementRequests();
    const { objects, pages, consistent } = await client(sim.managementUrl as string).list(STATUS_WORKER_VM_PATH, parseStatusPage);
    expect(pages).toBe(3);
    expect(consistent).toBe(true);
    expect(sim.managementRequests() - before).toBe(3);
    expect(objects.map((object) => object.name)).toEqual(['px01', 'px02', 'px03', 'px04', 'px05']);
  });

  it('reports a 401 naming the user and the URL, never the password', async () => {
    const sim = await startFleet();
    const error = await rejection(client(sim.managementUrl as string, { password: 'wrong-password', credentialHint: 'the secret from DW_X' }).list(STATUS_WORKER_VM_PATH, parseStatusPage));
    expect(error.code).toBe('DW_MANAGEMENT_AUTH');
    expect(error.message).toContain(`user "${USER}"`);
    expect(error.message).toContain(`${sim.managementUrl}${STATUS_WORKER_VM_PATH}`);
    expect(error.message).toContain('HTTP 401');
    expect(error.message).toContain('DW_X');
    expect(error.message).not.toContain('wrong-password');
    expect(error.message).not.toContain(PASSWORD);
  });

  it('reports a 403 as an authorisation error too', async () => {
    const sim = await startFleet();
    sim.setManagementFaults({ status: 403 });
    const error = await rejection(client(sim.managementUrl as string).list(STATUS_WORKER_VM_PATH, parseStatusPage));
    expect(error.code).toBe('DW_MANAGEMENT_AUTH');
    expect(error.message).toContain('HTTP 403');
  });

  it('rejects malformed JSON', async () => {
    const sim = await startFleet();
    sim.setManagementFaults({ malformed_json: true });
    const error = await rejection(client(sim.managementUrl as string).list(STATUS_WORKER_VM_PATH, parseStatusPage));
    expect(error.code).toBe('DW_MANAGEMENT_MALFORMED');
    expect(error.message).toContain('not valid JSON');
  });

  it('reports other HTTP statuses and timeouts with their own codes', async () => {
    const sim = await startFleet();
    sim.setManagementFaults({ status: 502 });
    expect((await rejection(client(sim.managementUrl as string).list(STATUS_WORKER_VM_PATH, parseStatusPage))).code).toBe('DW_MANAGEMENT_HTTP');
    sim.setManagementFaults({ latency_ms: 2000 });
    const slow = await rejection(client(sim.managementUrl as string, { timeoutMs: 150 }).list(STATUS_WORKER_VM_PATH, parseStatusPage));
    expect(slow.code).toBe('DW_MANAGEMENT_NETWORK');
    expect(slow.message).toContain('no answer within 150ms');
  });

  it('stops at max_pages with an error instead of a partial list', async () => {
    const sim = await startFleet({ nodes: 5 });
    const error = await rejection(client(sim.managementUrl as string, { pageSize: 1, maxPages: 3 }).list(STATUS_WORKER_VM_PATH, parseStatusPage));
    expect(error.code).toBe('DW_MANAGEMENT_MALFORMED');
    expect(error.message).toContain('max_pages (3)');
  });

  it('never follows a next link to another origin (credentials stay with the Management Node)', async () => {
    let authorizationSeen = 0;
    const server = createServer((req, res) => {
      if (req.headers.authorization) authorizationSeen += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ meta: { next: 'http://127.0.0.2:1/api/admin/status/v1/worker_vm/?offset=1', total_count: 2 }, objects: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const error = await rejection(client(`http://127.0.0.1:${port}`).list(STATUS_WORKER_VM_PATH, parseStatusPage));
    expect(error.code).toBe('DW_MANAGEMENT_MALFORMED');
    expect(error.message).toContain('another origin');
    expect(authorizationSeen).toBe(1);
  });
});

describe('ManagementPoller', () => {
  function poller(url: string, handlers: { sweeps: SweepResult[]; failures: unknown[] }): ManagementPoller {
    const made = new ManagementPoller({
      url, username: USER, password: PASSWORD, timeoutMs: 2000, pageSize: 2, maxPages: 10,
      intervalMs: 60_000, discover: true, nodePort: 443, statusUrlTemplate: 'http://{address}:{port}/api/client/v2/status', portField: 'x_sim_port',
      onSweep: (result) => handlers.sweeps.push(result),
      onFailure: (error, stale) => handlers.failures.push({ error, stale }),
    });
    onTestFinished(() => made.destroy());
    return made;
  }

  it('discovers CONFERENCING nodes with their simulator ports in one sweep of both resources', async () => {
    const sim = await startFleet({ nodes: 3 });
    const handlers = { sweeps: [] as SweepResult[], failures: [] as unknown[] };
    const result = await poller(sim.managementUrl as string, handlers).sweep();
    expect(result.pages).toBe(4); // 2 status pages + 2 configuration pages for 3 nodes
    expect(result.discovered).toEqual(sim.nodes().map((node) => ({ name: node.name, address: node.address, port: node.port, statusUrl: node.statusUrl, source: 'discovered' })));
    expect(result.observations.get('px01')).toMatchObject({ maintenance: false, load: 0, calls: 0, stale: false });
  });

  it('hands back the last good observations marked stale when a sweep fails', async () => {
    const sim = await startFleet({ nodes: 2 });
    sim.setLoad('px01', 42);
    const handlers = { sweeps: [] as SweepResult[], failures: [] as Array<{ error: unknown; stale: Map<string, { load: number | null; stale: boolean }> }> };
    const subject = poller(sim.managementUrl as string, handlers);
    await subject.sweep();
    sim.setManagementFaults({ status: 401 });
    await subject.sweep().catch(() => undefined);
    expect(handlers.failures).toHaveLength(1);
    const failure = handlers.failures[0]!;
    expect(hasCode(failure.error, 'DW_MANAGEMENT_AUTH')).toBe(true);
    expect(failure.stale.get('px01')).toMatchObject({ load: 42, stale: true });
    expect(subject.status()).toMatchObject({ stale: true, failures: 1, lastError: { code: 'DW_MANAGEMENT_AUTH' } });
  });

  it('keeps the discovered nodes when the Management Node suddenly lists none', async () => {
    const sim = await startFleet({ nodes: 2 });
    const handlers = { sweeps: [] as SweepResult[], failures: [] as unknown[] };
    const subject = poller(sim.managementUrl as string, handlers);
    expect((await subject.sweep()).discovered).toHaveLength(2);
    await sim.removeNode('px01');
    await sim.removeNode('px02');
    expect((await subject.sweep()).discovered).toBeNull();
  });
});
