// Real NGINX 1.22 from the committed nginx/ examples, the simulator's nodes as upstreams, drainwatch writing and reloading.

import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Simulator } from '../../../src/simulator/index.js';
import { directivesOf, renderUpstream } from '../../../src/frontends/nginx/render.js';
import { startTestService, waitFor } from '../../helpers/service.js';
import type { TestService } from '../../helpers/service.js';
import type { NodeVerdict } from '../../../src/core/snapshot.js';
import {
  FIXTURES, STREAM_MODULE, deriveConfig, freePort, get, nginxTest, openStream, sleep, startNginx,
} from './harness.js';
import type { RunningNginx } from './harness.js';
import { requires } from '../../helpers/requires.js';

const PROBE_INTERVAL = 200;
const SETTLE = 300;
const MIN_RELOAD_INTERVAL = 1000;
const SUITE = 'NGINX in front of the simulator, driven by drainwatch';
const STREAM_SUITE = 'the stream (TLS passthrough) example';
// Under CI=true (where .ci/run installed both) a missing binary or module fails instead of skipping.
const run = requires(SUITE, ['nginx']);
const runStream = requires(STREAM_SUITE, ['nginx-stream']);

/** Substitutions that turn the committed example into a throwaway instance in `prefix`. */
function localise(example: string, prefix: string, include: string, listen: Record<string, string>): string {
  return deriveConfig(example, [
    { from: 'pid /run/nginx.pid;', to: `pid ${prefix}/nginx.pid;` },
    { from: 'error_log /var/log/nginx/error.log warn;', to: `error_log ${prefix}/logs/error.log info;` },
    { from: 'include /etc/nginx/modules-enabled/*.conf;', to: example.includes('stream') ? `load_module ${STREAM_MODULE};` : '' },
    { from: 'include /etc/nginx/drainwatch/pexip-upstream.conf;', to: `include ${include};` },
    ...Object.entries(listen).map(([from, to]) => ({ from, to })),
  ]);
}

describe.runIf(run)(SUITE, () => {
  let dir: string;
  let sim: Simulator;
  let nginx: RunningNginx;
  let dw: TestService;
  let httpsPort: number;
  let include: string;
  let reloadLog: string;

  const reloads = (): number => {
    try {
      return readFileSync(reloadLog, 'utf8').split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  };
  const rendered = async (): Promise<string> => (await fetch(`${dw.url}/nginx/pexip.conf`)).text();
  const onDisk = (): string => readFileSync(include, 'utf8');
  const line = (name: string, text = onDisk()): string => text.split('\n').find((l) => l.startsWith('server') && l.includes(`# ${name} `)) ?? '';
  const port = (name: string): number => sim.node(name)?.port as number;
  const metric = async (family: 'nginxRenders' | 'nginxReloads' | 'nginxFailOpen', labels: Record<string, string>): Promise<number> => {
    const values = (await dw.service.metrics[family].get()).values;
    return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k as keyof typeof v.labels] === x))?.value ?? 0;
  };
  /** Waits until no reload is due: the last one is older than min_reload_interval and the file matches the rendering. */
  const quiet = async (): Promise<void> => {
    await waitFor(async () => directivesOf(await rendered()) === directivesOf(onDisk()), 10_000, 50, 'the file to match the rendering');
    await sleep(MIN_RELOAD_INTERVAL + 200);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drainwatch-nginx-'));
    chmodSync(dir, 0o755); // workers run as www-data when the tests run as root
    mkdirSync(join(dir, 'logs'));
    sim = await Simulator.start({ nodes: 3, tls: true, management: false });
    const [httpPort, tlsPort] = [await freePort(), await freePort()];
    httpsPort = tlsPort;
    include = join(dir, 'pexip-upstream.conf');
    // Bootstrap as an operator would: a first file with every node, before drainwatch runs.
    writeFileSync(include, sim.nodes().map((n) => `server ${n.address}:${n.port} weight=1;`).join('\n') + '\n');
    const conf = join(dir, 'nginx.conf');
    const text = localise('pexip-http.conf', dir, include, {
      'listen 80;': `listen 127.0.0.1:${httpPort};`,
      'listen [::]:80;': '',
      'listen 443 ssl http2;': `listen 127.0.0.1:${tlsPort} ssl http2;`,
      'listen [::]:443 ssl http2;': '',
      'access_log /var/log/nginx/pexip-access.log;': 'access_log off;',
      '/etc/ssl/certs/meet.example.com.pem': `${FIXTURES}server.pem`,
      '/etc/ssl/private/meet.example.com.key': `${FIXTURES}server-key.pem`,
      // Temp files inside the throwaway prefix, not the system's /var/lib/nginx.
      'server_tokens off;': `server_tokens off; client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;`,
    });
    writeFileSync(conf, text);
    const checked = nginxTest(dir, conf);
    if (!checked.ok) throw new Error(`nginx -t rejects the derived example:\n${checked.output}`);
    nginx = await startNginx(dir, conf, async () => (await get(tlsPort, '/')).status === 200);

    reloadLog = join(dir, 'reloads.log');
    const script = join(dir, 'reload.sh');
    writeFileSync(script, `#!/bin/sh\necho reload >> '${reloadLog}'\nexec nginx -p '${dir}' -c '${conf}' -s reload\n`, { mode: 0o755 });
    dw = await startTestService({
      nodes: sim.nodes().map((n) => ({ name: n.name, address: n.address, port: n.port, status_url: n.statusUrl })),
      // A generous timeout and fall: a loaded CI machine must not turn healthy nodes down (a 503 counts at once anyway).
      probe: { interval: `${PROBE_INTERVAL}ms`, timeout: '190ms', jitter: 0, rise: 1, fall: 10, tls: { ca_file: `${FIXTURES}ca.pem` } },
      policy: { weight_smoothing: '0s' },
      nginx: {
        upstreams: [{
          name: 'pexip', file: include,
          test_command: ['nginx', '-t', '-q', '-p', dir, '-c', conf],
          reload_command: [script],
          settle: `${SETTLE}ms`, min_reload_interval: `${MIN_RELOAD_INTERVAL}ms`, command_timeout: '10s',
        }],
      },
    });
    await waitFor(() => /weight=100;.*\n.*weight=100;.*\n.*weight=100;/.test(onDisk()) && reloads() >= 1, 10_000, 50, 'the first rendering');
  });

  afterAll(async () => {
    await dw?.close();
    await nginx?.stop();
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stops sending new requests to a node within probe interval + settle + 1 s of maintenance, keeps its open stream intact, and sends again after', async () => {
    await quiet();
    // A long-lived response on px02, opened before the reload.
    let stream: Awaited<ReturnType<typeof openStream>> | undefined;
    for (let attempt = 0; attempt < 12 && !stream; attempt += 1) {
      const candidate = await openStream(httpsPort, '/stream?seconds=4&interval_ms=100');
      if (candidate.node === 'px02') stream = candidate;
      else candidate.abort();
    }
    if (!stream) throw new Error('no stream landed on px02 in 12 attempts');
    const reloadsBefore = reloads();

    onTestFinished(() => sim.setPhase('px02', 'up'));
    const start = Date.now();
    await sim.setPhase('px02', 'maintenance', 'Software upgrade');
    const hits: number[] = [];
    let clean = 0;
    while (clean < 30 && Date.now() - start < 20_000) {
      const reply = await get(httpsPort, '/');
      expect(reply.status).toBe(200);
      if (reply.node === 'px02') {
        hits.push(reply.sentAt);
        clean = 0;
      } else {
        clean += 1;
      }
    }
    expect(clean).toBe(30);
    const lastHitAfter = Math.max(0, ...hits.map((at) => at - start));
    expect(lastHitAfter).toBeLessThanOrEqual(PROBE_INTERVAL + SETTLE + 1000);
    expect(line('px02')).toMatch(/ down; # px02 draining: /);

    const body = await stream.done;
    const lines = body.trim().split('\n');
    // 4 s at one line per 100 ms: the count depends on timer lag, so only demand a real stream, numbered without a gap.
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines).toEqual(lines.map((_, i) => `px02 ${i + 1}`));
    expect(reloads()).toBeGreaterThan(reloadsBefore); // the stream really spanned a reload

    await sim.setPhase('px02', 'up');
    await waitFor(async () => (await get(httpsPort, '/')).node === 'px02', 10_000, 20, 'px02 to receive requests again');
  });

  it('shares 2,000 round-robin requests by weight within a few percent', async () => {
    const loads: Record<string, number> = { px01: 0, px02: 50, px03: 75 }; // weights 100, 50, 25
    for (const [name, load] of Object.entries(loads)) {
      dw.service.core.recordManagement(name, { maintenance: false, reason: '', load, calls: null, at: Date.now(), stale: false });
    }
    onTestFinished(() => {
      for (const name of Object.keys(loads)) dw.service.core.recordManagement(name, null);
    });
    await waitFor(() => line('px01').includes('weight=100;') && line('px02').includes('weight=50;') && line('px03').includes('weight=25;'), 10_000, 50, 'weights on disk');
    await quiet();

    const agent = new Agent({ keepAlive: true, maxSockets: 8, ca: readFileSync(`${FIXTURES}ca.pem`) });
    onTestFinished(() => agent.destroy());
    const counts: Record<string, number> = {};
    let sent = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (sent < 2000) {
          sent += 1;
          // A reused keep-alive socket can be closed by NGINX just as a request goes out; retry such a GET once, as browsers do.
          const reply = await get(httpsPort, '/', agent).catch(() => get(httpsPort, '/', agent));
          counts[reply.node ?? 'none'] = (counts[reply.node ?? 'none'] ?? 0) + 1;
        }
      }),
    );
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(2000);
    const expected = { px01: 100 / 175, px02: 50 / 175, px03: 25 / 175 };
    for (const [name, share] of Object.entries(expected)) {
      expect(Math.abs((counts[name] ?? 0) / total - share), `${name}: ${counts[name]} of ${total}`).toBeLessThan(0.03);
    }
  });

  it('reloads at most twice for ten maintenance flips of one node within one second', async () => {
    await quiet();
    const before = reloads();
    let flips = 0;
    const off = dw.service.core.onTransition((t) => {
      if (t.name === 'px03') flips += 1;
    });
    onTestFinished(off);
    for (let i = 0; i < 10; i += 1) {
      if (i % 2 === 0) dw.service.core.setOverride('px03', { state: 'drain', reason: `flip ${i}`, by: 'test', setAt: Date.now(), expiresAt: null });
      else dw.service.core.clearOverride('px03', 'test');
      await sleep(95);
    }
    expect(flips).toBe(10);
    // Longest possible wait for the debounced reloads: settle + min interval, plus margin.
    await sleep(SETTLE + MIN_RELOAD_INTERVAL + 1500);
    expect(reloads() - before).toBeLessThanOrEqual(2);
    expect(line('px03')).toMatch(/weight=100; # px03 ready/);
    expect((await get(httpsPort, '/')).status).toBe(200);
  });

  it('keeps the previous file and NGINX serving when a rendering fails nginx -t', async () => {
    await quiet();
    const before = readFileSync(include);
    const reloadsBefore = reloads();
    const failedBefore = await metric('nginxRenders', { upstream: 'pexip', result: 'test_failed' });
    dw.service.setDiscoveredNodes([
      { name: 'pxbad', address: 'zz::1', port: 443, statusUrl: 'https://127.0.0.1:9/api/client/v2/status', source: 'discovered' },
    ]);
    onTestFinished(() => dw.service.setDiscoveredNodes([]));
    await waitFor(async () => (await metric('nginxRenders', { upstream: 'pexip', result: 'test_failed' })) > failedBefore, 10_000, 50, 'a failed nginx -t');
    expect(await rendered()).toContain('server [zz::1]:443');
    expect(readFileSync(include).equals(before)).toBe(true);
    expect(reloads()).toBe(reloadsBefore);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    for (let i = 0; i < 5; i += 1) expect((await get(httpsPort, '/')).status).toBe(200);
  });

  it('keeps usable servers in the file when every node is in maintenance', async () => {
    await quiet();
    onTestFinished(async () => {
      for (const n of sim.nodes()) await sim.setPhase(n.name, 'up');
    });
    for (const n of sim.nodes()) await sim.setPhase(n.name, 'maintenance', 'Software upgrade');
    await waitFor(() => onDisk().includes('FAIL OPEN'), 10_000, 50, 'a fail-open rendering on disk');
    const servers = directivesOf(onDisk()).split('\n');
    expect(servers).toHaveLength(3);
    expect(servers.filter((s) => !s.endsWith(' down;')).length).toBeGreaterThan(0);
    expect(await metric('nginxFailOpen', { upstream: 'pexip' })).toBe(1);
    expect((await get(httpsPort, '/')).status).toBe(200);
  });

  it('serves the current rendering at /nginx/{upstream}.conf and 404 for an unknown upstream', async () => {
    const reply = await fetch(`${dw.url}/nginx/pexip.conf`);
    expect(reply.status).toBe(200);
    expect(await reply.text()).toMatch(/^# drainwatch upstream "pexip"/);
    expect((await fetch(`${dw.url}/nginx/other.conf`)).status).toBe(404);
  });
});

describe.runIf(runStream)(STREAM_SUITE, () => {
  it('passes nginx -t and sends TLS connections only to nodes not marked down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drainwatch-nginx-stream-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'logs'));
    const sim = await Simulator.start({ nodes: 3, tls: true, management: false });
    onTestFinished(() => sim.close());
    const include = join(dir, 'pexip-upstream.conf');
    const at = Date.now();
    const nodes = sim.nodes().map((n, i) => ({
      name: n.name, address: n.address, port: n.port, statusUrl: n.statusUrl, source: 'static', state: i === 1 ? 'draining' : 'ready',
      weight: 100, load: null, maintenance: i === 1, degraded: false, reason: i === 1 ? 'Software upgrade' : 'available', override: null,
      calls: null, drainedSince: null, heldByGuard: false, probe: null, since: at, observedAt: at, version: 1,
    }) satisfies NodeVerdict);
    writeFileSync(include, renderUpstream({ version: 1, nodes }, { upstream: 'pexip' }).text);
    const port = await freePort();
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, localise('pexip-stream.conf', dir, include, {
      'listen 443;': `listen 127.0.0.1:${port};`,
      'listen [::]:443;': '',
      'access_log /var/log/nginx/pexip-stream.log pexip;': 'access_log off;',
    }));
    const checked = nginxTest(dir, conf);
    expect(checked.ok, checked.output).toBe(true);
    const nginx = await startNginx(dir, conf, async () => (await get(port, '/')).status === 200);
    onTestFinished(() => nginx.stop());
    const seen = new Set<string>();
    for (let i = 0; i < 9; i += 1) seen.add((await get(port, '/')).node ?? 'none');
    expect([...seen].sort()).toEqual(['px01', 'px03']);
  });
});
