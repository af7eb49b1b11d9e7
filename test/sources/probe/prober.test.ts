// The prober against every simulator fault: each classified correctly, bounded in time and memory; TLS.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prober, classifyError } from '../../../src/sources/probe/prober.js';
import { sanitize } from '../../../src/core/text.js';
import { Simulator, testTls } from '../../../src/simulator/index.js';
import type { NodeFaults } from '../../../src/simulator/index.js';

const TIMEOUT = 400;
let sim: Simulator;
let prober: Prober;

beforeAll(async () => {
  sim = await Simulator.start({ nodes: 12, management: false });
  prober = new Prober({ timeoutMs: TIMEOUT });
});
afterAll(async () => {
  await prober.destroy();
  sim.destroy();
});

const url = (name: string) => sim.node(name)?.statusUrl as string;

describe('Prober over HTTP', () => {
  it('classifies a node that is up as available', async () => {
    const result = await prober.probe({ statusUrl: url('px01') });
    expect(result).toMatchObject({ outcome: 'available', reason: 'ok', status: 200 });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('classifies maintenance and keeps the node\'s message as detail', async () => {
    await sim.setPhase('px02', 'maintenance', 'Software upgrade to 36.1');
    const result = await prober.probe({ statusUrl: url('px02') });
    expect(result).toMatchObject({ outcome: 'maintenance', reason: 'maintenance', status: 503, detail: 'Software upgrade to 36.1' });
  });

  it('sanitises a hostile maintenance message', async () => {
    await sim.setPhase('px03', 'maintenance', 'bad\r\nup ready 100%\n#injected');
    const result = await prober.probe({ statusUrl: url('px03') });
    expect(result.detail).toBe('bad up ready 100% #injected');
    expect(sanitize('a\u0000b\tc\n\nd')).toBe('a b c d');
    expect(sanitize('x'.repeat(500))).toHaveLength(200);
  });

  it('classifies a refused connection (rebooting) as refused, quickly', async () => {
    await sim.setPhase('px04', 'rebooting');
    const started = Date.now();
    const result = await prober.probe({ statusUrl: url('px04') });
    expect(result).toMatchObject({ outcome: 'failure', reason: 'refused', status: null });
    expect(Date.now() - started).toBeLessThan(TIMEOUT);
  });

  it('classifies a booting node that never answers as a timeout within the deadline', async () => {
    await sim.setPhase('px05', 'booting');
    const started = Date.now();
    const result = await prober.probe({ statusUrl: url('px05') });
    expect(result).toMatchObject({ outcome: 'failure', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(TIMEOUT + 300);
  });

  const faults: Array<[string, NodeFaults, { outcome: string; reason: string; status: number | null }]> = [
    ['a hang', { hang: true }, { outcome: 'failure', reason: 'timeout', status: null }],
    ['added latency beyond the timeout', { latency_ms: 2000 }, { outcome: 'failure', reason: 'timeout', status: null }],
    ['a connection reset', { reset: true }, { outcome: 'failure', reason: 'reset', status: null }],
    ['a 404 (not a Conferencing Node)', { status: 404 }, { outcome: 'failure', reason: 'http_404', status: 404 }],
    ['a 500', { status: 500 }, { outcome: 'failure', reason: 'http_5xx', status: 500 }],
    ['a non-JSON body with 200 (decided on status alone)', { non_json: true }, { outcome: 'available', reason: 'ok', status: 200 }],
    ['a 10 MiB body with 200', { huge_body: true }, { outcome: 'available', reason: 'ok', status: 200 }],
    ['a trickling body with 200', { trickle: true }, { outcome: 'available', reason: 'ok', status: 200 }],
  ];
  it.each(faults)('classifies %s, within the deadline', async (_name, fault, expected) => {
    const name = 'px06';
    sim.setFaults(name, fault);
    try {
      const started = Date.now();
      const result = await prober.probe({ statusUrl: url(name) });
      expect(result).toMatchObject(expected);
      expect(Date.now() - started).toBeLessThan(TIMEOUT + 300);
    } finally {
      sim.clearFaults(name);
    }
  });

  it('keeps memory bounded while probing a 10 MiB body repeatedly', async () => {
    sim.setFaults('px07', { huge_body: true });
    global.gc?.();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 20; i++) await prober.probe({ statusUrl: url('px07') });
    const grown = process.memoryUsage().rss - before;
    sim.clearFaults('px07');
    // 20 × 10 MiB fully buffered would be 200 MiB; the body limit keeps it far below.
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  });

  it('probes a node again after it comes back up', async () => {
    await sim.setPhase('px08', 'rebooting');
    expect((await prober.probe({ statusUrl: url('px08') })).reason).toBe('refused');
    await sim.setPhase('px08', 'up');
    expect((await prober.probe({ statusUrl: url('px08') })).reason).toBe('ok');
  });

  it('classifies DNS failures and other error codes', () => {
    expect(classifyError(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))).toBe('dns');
    expect(classifyError(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }))).toBe('timeout');
    expect(classifyError(Object.assign(new Error('x'), { cause: Object.assign(new Error('y'), { code: 'ECONNRESET' }) }))).toBe('reset');
    expect(classifyError(new AggregateError([Object.assign(new Error('y'), { code: 'ECONNREFUSED' })]))).toBe('refused');
    expect(classifyError(Object.assign(new Error('x'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }))).toBe('tls');
    expect(classifyError(new Error('no code'))).toBe('error');
  });
});

describe('Prober over HTTPS', () => {
  let tlsSim: Simulator;
  beforeAll(async () => {
    tlsSim = await Simulator.start({ nodes: 1, tls: true, management: false });
  });
  afterAll(() => tlsSim.destroy());

  it('verifies the node against the configured CA', async () => {
    const verified = new Prober({ timeoutMs: TIMEOUT, tls: { ca: testTls().ca } });
    try {
      expect(await verified.probe({ statusUrl: tlsSim.nodes()[0]?.statusUrl as string })).toMatchObject({ outcome: 'available', status: 200 });
    } finally {
      await verified.destroy();
    }
  });

  it('fails with reason tls when the certificate does not verify', async () => {
    const { readFileSync } = await import('node:fs');
    const { testTlsPath } = await import('../../../src/simulator/index.js');
    const wrongCa = readFileSync(testTlsPath('other-ca.pem'));
    const strict = new Prober({ timeoutMs: TIMEOUT, tls: { ca: wrongCa } });
    try {
      const result = await strict.probe({ statusUrl: tlsSim.nodes()[0]?.statusUrl as string });
      expect(result).toMatchObject({ outcome: 'failure', reason: 'tls' });
      expect(result.detail).toMatch(/certificate|self.signed|verify/i);
    } finally {
      await strict.destroy();
    }
  });

  it('accepts an unverifiable certificate only with insecure_skip_verify', async () => {
    const insecure = new Prober({ timeoutMs: TIMEOUT, tls: { insecureSkipVerify: true } });
    try {
      expect((await insecure.probe({ statusUrl: tlsSim.nodes()[0]?.statusUrl as string })).outcome).toBe('available');
    } finally {
      await insecure.destroy();
    }
  });

  it('verifies against the servername when one is configured (SNI)', async () => {
    const sni = new Prober({ timeoutMs: TIMEOUT, tls: { ca: testTls().ca, servername: 'node.sim.test' } });
    const wrong = new Prober({ timeoutMs: TIMEOUT, tls: { ca: testTls().ca, servername: 'elsewhere.example' } });
    try {
      expect((await sni.probe({ statusUrl: tlsSim.nodes()[0]?.statusUrl as string })).outcome).toBe('available');
      expect((await wrong.probe({ statusUrl: tlsSim.nodes()[0]?.statusUrl as string })).reason).toBe('tls');
    } finally {
      await sni.destroy();
      await wrong.destroy();
    }
  });
});
