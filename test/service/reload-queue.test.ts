// Reloads run one at a time, resolve with {ok, errors} once applied, and count every failure instead of rejecting.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { createAdminApi } from '../../src/operator/api/nodes.js';
import { startTestService } from '../helpers/service.js';
import type { Frontend } from '../../src/frontends/frontend.js';
import type { FrontendFactory } from '../../src/service/service.js';

const node = (name: string, i: number) => ({ name, address: `127.0.0.${i + 1}`, port: 1, status_url: `http://127.0.0.${i + 1}:1/api/client/v2/status` });
const BASE = { http: { listen: '127.0.0.1:0' }, haproxy: { agent: null }, log: { level: 'silent' } };

function configOf(names: string[]) {
  const loaded = loadConfigText(stringify({ ...BASE, nodes: names.map(node) }), { env: {} }, `nodes ${names.join(',')}`);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded;
}

async function counter(service: { metrics: { configReloads: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> } } }, result: string) {
  return (await service.metrics.configReloads.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
}

/** A front-end whose reloads wait for the test to release them, recording when each starts and ends. */
function gatedFrontend(events: string[]) {
  const gates: Array<() => void> = [];
  let count = 0;
  const factory: FrontendFactory = (context): Frontend => ({
    name: 'gated',
    async reload() {
      const n = (count += 1);
      events.push(`start ${n} (${context.config().nodes.length} nodes)`);
      await new Promise<void>((resolve) => gates.push(resolve));
      events.push(`end ${n}`);
    },
    close: async () => undefined,
    destroy: async () => undefined,
  });
  return { factory, release: () => gates.shift()?.(), waiting: () => gates.length };
}

describe('Service reloads', () => {
  it('runs queued reloads one at a time, in the order they were asked for', async () => {
    const events: string[] = [];
    const gated = gatedFrontend(events);
    const dw = await startTestService({ nodes: [node('px01', 0)] }, { frontends: [createAdminApi, gated.factory] });
    onTestFinished(() => dw.close());
    const first = dw.service.reload(configOf(['px01', 'px02']));
    const second = dw.service.reload(configOf(['px01', 'px02', 'px03']));
    for (let i = 0; i < 20 && gated.waiting() === 0; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['start 1 (2 nodes)']); // the second waits for the first
    gated.release();
    await first;
    for (let i = 0; i < 20 && gated.waiting() === 0; i += 1) await new Promise((resolve) => setImmediate(resolve));
    gated.release();
    expect(await second).toEqual({ ok: true, errors: [] });
    expect(events).toEqual(['start 1 (2 nodes)', 'end 1', 'start 2 (3 nodes)', 'end 2']);
    expect(dw.service.core.inventory().map((n) => n.name)).toEqual(['px01', 'px02', 'px03']);
  });

  it('resolves reloadFromFile once the new config is applied, and with the errors of a broken file', async () => {
    const dw = await startTestService({ nodes: [node('px01', 0)] });
    onTestFinished(() => dw.close());
    const file = join(dw.dir, 'drainwatch.yaml');
    writeFileSync(file, stringify({ ...BASE, nodes: [node('px01', 0), node('px02', 1)] }));
    expect(await dw.service.reloadFromFile(file)).toEqual({ ok: true, errors: [] });
    expect(dw.service.core.inventory().map((n) => n.name)).toEqual(['px01', 'px02']);

    writeFileSync(file, 'nodes:\n  - { name: px01 }\n');
    const rejected = await dw.service.reloadFromFile(file);
    expect(rejected.ok).toBe(false);
    expect(rejected.errors.join('\n')).toContain('nodes[0].address: is required');
    expect(dw.service.core.inventory().map((n) => n.name)).toEqual(['px01', 'px02']);
    expect(await counter(dw.service, 'ok')).toBe(1);
    expect(await counter(dw.service, 'failed')).toBe(1);
  });

  it('logs and counts a front-end that throws on reload, applies the rest, and never rejects', async () => {
    const reloaded: string[] = [];
    const failing: FrontendFactory = () => ({
      name: 'broken',
      reload: () => Promise.reject(new Error('cannot bind the new address')),
      close: async () => undefined,
      destroy: async () => undefined,
    });
    const after: FrontendFactory = (context) => ({
      name: 'after',
      reload: () => void reloaded.push(`${context.config().nodes.length}`),
      close: async () => undefined,
      destroy: async () => undefined,
    });
    const dw = await startTestService({ nodes: [node('px01', 0)] }, { frontends: [failing, after] });
    onTestFinished(() => dw.close());
    const result = await dw.service.reload(configOf(['px01', 'px02']));
    expect(result).toEqual({ ok: false, errors: ['broken: cannot bind the new address'] });
    expect(reloaded).toEqual(['2']);
    expect(await counter(dw.service, 'failed')).toBe(1);
    expect(await counter(dw.service, 'ok')).toBe(0);
  });

  it('refuses reloads once stopping', async () => {
    const dw = await startTestService({ nodes: [node('px01', 0)] });
    await dw.close();
    expect(await dw.service.reload(configOf(['px01', 'px02']))).toEqual({ ok: false, errors: ['drainwatch is stopping; reload not applied'] });
  });
});
