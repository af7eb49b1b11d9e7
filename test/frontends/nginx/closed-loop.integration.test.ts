// Real NGINX 1.22 closed loop: a failing test command is retried by itself, SIGHUP retries at once, and a fixed main config heals with no signal.

import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import { Simulator } from '../../../src/simulator/index.js';
import { startTestService, waitFor } from '../../helpers/service.js';
import { requires } from '../../helpers/requires.js';
import { FIXTURES, deriveConfig, freePort, get, nginxTest, startNginx } from './harness.js';
import type { LoadBalancerJson } from '../../../src/operator/api/loadbalancers.js';

const SUITE = 'NGINX closed loop (retries, SIGHUP, broken main config)';
const SETTLE_MS = 300;

async function rig() {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-nginx-loop-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755); // workers run as www-data when the tests run as root
  mkdirSync(join(dir, 'logs'));
  const sim = await Simulator.start({ nodes: 3, tls: true, management: false });
  onTestFinished(() => sim.destroy());
  const [httpPort, tlsPort] = [await freePort(), await freePort()];
  const include = join(dir, 'pexip-upstream.conf');
  writeFileSync(include, sim.nodes().map((n) => `server ${n.address}:${n.port} weight=1;`).join('\n') + '\n');
  const conf = join(dir, 'nginx.conf');
  const text = deriveConfig('pexip-http.conf', [
    { from: 'pid /run/nginx.pid;', to: `pid ${dir}/nginx.pid;` },
    { from: 'error_log /var/log/nginx/error.log warn;', to: `error_log ${dir}/logs/error.log info;` },
    { from: 'include /etc/nginx/modules-enabled/*.conf;', to: '' },
    { from: 'include /etc/nginx/drainwatch/pexip-upstream.conf;', to: `include ${include};` },
    { from: 'listen 80;', to: `listen 127.0.0.1:${httpPort};` },
    { from: 'listen [::]:80;', to: '' },
    { from: 'listen 443 ssl http2;', to: `listen 127.0.0.1:${tlsPort} ssl http2;` },
    { from: 'listen [::]:443 ssl http2;', to: '' },
    { from: 'access_log /var/log/nginx/pexip-access.log;', to: 'access_log off;' },
    { from: '/etc/ssl/certs/meet.example.com.pem', to: `${FIXTURES}server.pem` },
    { from: '/etc/ssl/private/meet.example.com.key', to: `${FIXTURES}server-key.pem` },
    { from: 'server_tokens off;', to: `server_tokens off; client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;` },
  ]);
  writeFileSync(conf, text);
  const checked = nginxTest(dir, conf);
  if (!checked.ok) throw new Error(`nginx -t rejects the derived example:\n${checked.output}`);
  const nginx = await startNginx(dir, conf, async () => (await get(tlsPort, '/')).status === 200);
  onTestFinished(() => nginx.stop());

  // The test command fails while a flag file exists, as `nginx -t` does while a certificate or another include is replaced.
  const flag = join(dir, 'flag');
  const wrapper = join(dir, 'nginx-test.sh');
  writeFileSync(wrapper, `#!/bin/sh\nif [ -e '${flag}' ]; then echo "nginx: [emerg] certificate is being replaced" >&2; exit 1; fi\nexec nginx -t -q -p '${dir}' -c '${conf}'\n`, { mode: 0o755 });
  const config = {
    nodes: sim.nodes().map((n) => ({ name: n.name, address: n.address, port: n.port, status_url: n.statusUrl })),
    // A generous timeout: on a loaded machine a probe that times out would keep a node from turning ready.
    probe: { interval: '500ms', timeout: '450ms', jitter: 0, rise: 1, fall: 10, tls: { ca_file: `${FIXTURES}ca.pem` } },
    policy: { weight_smoothing: '0s' },
    nginx: {
      upstreams: [{
        name: 'pexip', file: include, test_command: [wrapper], reload_command: ['nginx', '-p', dir, '-c', conf, '-s', 'reload'],
        settle: `${SETTLE_MS}ms`, min_reload_interval: '500ms', command_timeout: '10s', read_interval: '500ms',
      }],
    },
  };
  const dw = await startTestService(config);
  onTestFinished(() => dw.close());
  // What SIGHUP reloads: the same config, from a file.
  const configFile = join(dir, 'drainwatch.yaml');
  writeFileSync(configFile, stringify({ ...config, http: { listen: '127.0.0.1:0' }, haproxy: { agent: { listen: '127.0.0.1:0' } }, log: { level: 'silent' } }));
  const target = async (): Promise<LoadBalancerJson> => {
    const body = (await (await fetch(`${dw.url}/api/v1/loadbalancers`)).json()) as { loadbalancers: LoadBalancerJson[] };
    return body.loadbalancers.find((each) => each.id === 'nginx:pexip')!;
  };
  const failures = async (): Promise<number> => (await dw.service.metrics.nginxRenders.get()).values.find((v) => v.labels.result === 'test_failed')?.value ?? 0;
  const line = (name: string) => readFileSync(include, 'utf8').split('\n').find((l) => l.startsWith('server') && l.includes(`# ${name} `)) ?? '';
  await waitFor(async () => (await target())?.status === 'in_sync' && line('px01').includes('weight=100'), 15_000, 50, 'in sync at start');
  return { dir, sim, dw, conf, flag, include, configFile, target, failures, line, tlsPort };
}

describe.runIf(requires(SUITE, ['nginx']))(SUITE, () => {
  it('shows a failing test command as diverged with the failed rendering off disk, and SIGHUP brings it in sync within settle + 1 s', async () => {
    const r = await rig();
    writeFileSync(r.flag, '');
    await r.sim.setPhase('px01', 'maintenance', 'Software upgrade');
    await waitFor(async () => (await r.failures()) >= 2, 15_000, 50, 'two failed tests (retried without a verdict change)');
    const target = await r.target();
    expect(target.status).toBe('diverged');
    expect(target.reason).toMatch(/^test_command failed \(exit 1\): nginx: \[emerg\] certificate is being replaced/);
    expect(r.line('px01')).toMatch(/weight=100; # px01 ready/); // the failed rendering is not on disk
    expect(target.nodes.find((node) => node.name === 'px01')).toMatchObject({ want: 'down', have: 'weight=100' });

    unlinkSync(r.flag);
    const started = Date.now();
    expect(await r.dw.service.reloadFromFile(r.configFile)).toEqual({ ok: true, errors: [] });
    await waitFor(async () => (await r.target()).status === 'in_sync', SETTLE_MS + 1000, 20, 'in sync after SIGHUP');
    const ms = Date.now() - started;
    console.info(`nginx: SIGHUP after a failing test command -> file rewritten and in_sync in ${ms} ms (bound settle ${SETTLE_MS} ms + 1 s)`);
    expect(r.line('px01')).toMatch(/ down; # px01 draining: /);
  });

  it('reports a hand edit of the include file and rewrites it (read interval + settle + test + reload)', async () => {
    const r = await rig();
    const repairsBefore = (await r.target()).repairs;
    const edited = readFileSync(r.include, 'utf8').replace(/(server \S+ )weight=100;( # px02 )/, '$1down;$2');
    expect(edited).not.toBe(readFileSync(r.include, 'utf8'));
    writeFileSync(r.include, edited);
    const started = Date.now();
    let reportedMs: number | null = null;
    await waitFor(async () => {
      const target = await r.target();
      if (reportedMs === null && (target.status === 'diverged' || target.repairs > repairsBefore)) reportedMs = Date.now() - started;
      return target.repairs > repairsBefore && target.status === 'in_sync' && r.line('px02').includes('weight=100');
    }, 10_000, 10, 'the file rewritten');
    const repairMs = Date.now() - started;
    console.info(`nginx: hand edit of the include file -> reported in ${reportedMs} ms, rewritten, tested, reloaded and in_sync in ${repairMs} ms (read interval 500 ms, settle ${SETTLE_MS} ms)`);
    expect((await r.target()).repairs).toBe(repairsBefore + 1);
  });

  it('retries by itself when nginx -t fails on a broken main config, and NGINX sends traffic to the node again once it is fixed with no signal', async () => {
    const r = await rig();
    await r.sim.setPhase('px01', 'maintenance', 'Software upgrade');
    // Written, tested and reloaded: the file alone is not enough (it is on disk while its test runs).
    const reloads = async () => (await r.dw.service.metrics.nginxReloads.get()).values.find((v) => v.labels.result === 'ok')?.value ?? 0;
    await waitFor(async () => (await reloads()) >= 2 && r.line('px01').includes(' down;'), 10_000, 50, 'px01 down in NGINX');
    const good = readFileSync(r.conf, 'utf8');
    appendFileSync(r.conf, '\nthis_directive_does_not_exist on;\n');
    await r.sim.setPhase('px01', 'up');
    await waitFor(() => r.dw.service.core.snapshot().get('px01')?.state === 'ready', 10_000, 50, 'px01 ready again');
    await waitFor(async () => (await r.failures()) >= 3, 20_000, 50, 'three failed tests');
    expect((await r.target()).status).toBe('diverged');
    expect(r.line('px01')).toMatch(/ down;/);

    writeFileSync(r.conf, good); // fixed by hand: no signal, no verdict change
    const fixedAt = Date.now();
    await waitFor(async () => (await r.target()).status === 'in_sync', 40_000, 100, 'in sync again without a signal');
    const ms = Date.now() - fixedAt;
    console.info(`nginx: main config fixed with no signal -> retried and in_sync in ${ms} ms (bound 40 s)`);
    expect(r.line('px01')).toMatch(/weight=100; # px01 ready/);
    await waitFor(async () => (await get(r.tlsPort, '/')).node === 'px01', 10_000, 20, 'px01 to receive requests again');
  }, 90_000);
});
