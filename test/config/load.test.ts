// One fixture per config rule, each with its exact message.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { parseDuration } from '../../src/config/duration.js';

const dir = mkdtempSync(join(tmpdir(), 'drainwatch-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const caFile = join(dir, 'ca.pem');
// A real certificate: the loader checks that the CA file parses as PEM certificates.
writeFileSync(caFile, readFileSync(new URL('../fixtures/ca.pem', import.meta.url)));
const secretFile = join(dir, 'password');
writeFileSync(secretFile, 's3cret\n');

const NODE = 'nodes:\n  - { name: px01, address: 10.0.1.11 }\n';

function errorsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  const result = loadConfigText(text, { baseDir: dir, env });
  return result.ok ? [] : result.errors;
}

describe('config loading', () => {
  it('fills every default for a minimal config', () => {
    const result = loadConfigText(NODE, { baseDir: dir, env: {} });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { config } = result;
    expect(config.nodes[0]).toEqual({ name: 'px01', address: '10.0.1.11', port: 443, status_url: 'https://10.0.1.11/api/client/v2/status' });
    expect(config.probe).toMatchObject({ interval: 1000, timeout: 800, jitter: 0.1, rise: 2, fall: 2, max_age: 5000, concurrency: 256 });
    expect(config.probe.tls).toEqual({ ca_file: null, insecure_skip_verify: false, servername: null });
    expect(config.policy).toMatchObject({ min_weight: 1, weight_step: 5, degraded_load: 90, guard_down_fraction: 0.5 });
    // Listen addresses are parsed once, here: the parts plus the text as written.
    expect(config.haproxy.agent?.listen).toEqual({ host: '127.0.0.1', port: 5555, text: '127.0.0.1:5555' });
    expect(config.http.listen).toEqual({ host: '127.0.0.1', port: 9555, text: '127.0.0.1:9555' });
    expect(config.envoy.cluster_name).toBe('pexip');
    expect(config.management).toBeNull();
  });

  it('brackets IPv6 addresses in the default status URL', () => {
    const result = loadConfigText('nodes:\n  - { name: v6, address: "2001:db8::1" }\n', { env: {} });
    expect(result.ok && result.config.nodes[0]?.status_url).toBe('https://[2001:db8::1]/api/client/v2/status');
  });

  it('accepts the full example from the design', () => {
    const text = `
nodes:
  - name: px01
    address: 10.0.1.11
    port: 443
    status_url: https://10.0.1.11/api/client/v2/status
probe:
  interval: 1s
  timeout: 800ms
  jitter: 0.1
  rise: 2
  fall: 2
  max_age: 5s
  concurrency: 256
  tls: { ca_file: ca.pem, insecure_skip_verify: false, servername: null }
management:
  url: https://manager.example.com
  username: admin
  password_env: DRAINWATCH_MGMT_PASSWORD
  interval: 15s
  discover: false
  node_port: 443
  status_url_template: "https://{address}/api/client/v2/status"
policy: { min_weight: 1, weight_step: 5, degraded_load: 90, guard_down_fraction: 0.5 }
haproxy:
  agent: { listen: "127.0.0.1:5555" }
http:
  listen: "127.0.0.1:9555"
  admin_token_env: DRAINWATCH_ADMIN_TOKEN
envoy:
  cluster_name: pexip
nginx:
  upstreams:
    - name: pexip
      file: pexip-upstream.conf
      test_command: ["nginx", "-t"]
      reload_command: ["nginx", "-s", "reload"]
      settle: 2s
`;
    // The commands' program must exist: a stand-in nginx, so the test does not need NGINX installed.
    writeFileSync(join(dir, 'nginx'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const result = loadConfigText(text, { baseDir: dir, env: { DRAINWATCH_MGMT_PASSWORD: 'pw', DRAINWATCH_ADMIN_TOKEN: 'tok', PATH: dir } });
    expect(result.ok ? [] : result.errors).toEqual([]);
    if (!result.ok) return;
    expect(result.secrets).toEqual({ managementPassword: 'pw', adminToken: 'tok' });
    expect(result.config.probe.tls.ca_file).toBe(caFile);
    expect(result.config.nginx.upstreams[0]?.file).toBe(join(dir, 'pexip-upstream.conf'));
  });

  const rules: Array<[string, string, string[], NodeJS.ProcessEnv?]> = [
    ['unknown top-level key', `${NODE}probes: {}\n`, ['probes: unknown key "probes" (check its spelling and place against the configuration reference)']],
    ['unknown nested key', `${NODE}probe: { intervall: 1s }\n`, ['probe.intervall: unknown key "intervall" (check its spelling and place against the configuration reference)']],
    ['duplicate node names', 'nodes:\n  - { name: px01, address: a }\n  - { name: px01, address: b }\n', ['nodes[1].name: "px01" is already used by nodes[0]; node names must be unique']],
    ['missing node address', 'nodes:\n  - { name: px01 }\n', ['nodes[0].address: is required']],
    ['bad node name', 'nodes:\n  - { name: "px 01", address: a }\n', ['nodes[0].name: must start with a letter or digit and contain only letters, digits, ".", "_" and "-"']],
    ['port out of range', 'nodes:\n  - { name: px01, address: a, port: 70000 }\n', ['nodes[0].port: must be a whole number from 1 to 65535']],
    ['bad status URL', 'nodes:\n  - { name: px01, address: a, status_url: "ftp://x" }\n', ['nodes[0].status_url: "ftp://x" is not an http(s) URL for the node status endpoint']],
    ['timeout not below interval', `${NODE}probe: { interval: 1s, timeout: 1s }\n`, ['probe.timeout: must be shorter than probe.interval (1s is not below 1s)']],
    ['max_age not above interval', `${NODE}probe: { interval: 2s, timeout: 1s, max_age: 2s }\n`, ['probe.max_age: must be longer than probe.interval (2s is not above 2s), or every verdict would turn unknown between probes']],
    ['rise below 1', `${NODE}probe: { rise: 0 }\n`, ['probe.rise: must be a whole number from 1 to 100']],
    ['fall below 1', `${NODE}probe: { fall: 0 }\n`, ['probe.fall: must be a whole number from 1 to 100']],
    ['malformed duration', `${NODE}probe: { interval: soon }\n`, ['probe.interval: "soon" is not a duration; write it like 500ms, 2s, 1m or 1h']],
    ['duration without unit', `${NODE}probe: { interval: 1000 }\n`, ['probe.interval: must be a duration such as 500ms, 2s or 1m (a string with a unit)']],
    ['jitter above 1', `${NODE}probe: { jitter: 2 }\n`, ['probe.jitter: must be a number from 0 to 1']],
    ['invalid listen address', `${NODE}http: { listen: "nowhere" }\n`, ['http.listen: "nowhere" is not a listen address of the form host:port (for example 127.0.0.1:9555 or [::1]:9555)']],
    ['runtime socket neither a path nor host:port', `${NODE}haproxy: { runtime_api: [ { socket: "127.0.0.1:0", backend: pexip } ] }\n`, ['haproxy.runtime_api[0].socket: "127.0.0.1:0" is neither a unix socket path (starting with "/") nor host:port']],
    ['the same backend twice on one socket', `${NODE}haproxy: { runtime_api: [ { socket: /run/a.sock, backend: pexip }, { socket: /run/a.sock, backend: pexip } ] }\n`, ['haproxy.runtime_api[1]: backend "pexip" on /run/a.sock is listed twice']],
    ['listen port above 65535', `${NODE}haproxy: { agent: { listen: "127.0.0.1:99999" } }\n`, ['haproxy.agent.listen: port 99999 in "127.0.0.1:99999" is above 65535']],
    ['unreadable CA file', `${NODE}probe: { tls: { ca_file: missing.pem } }\n`, [`probe.tls.ca_file: cannot read ${join(dir, 'missing.pem')} (the CA bundle): ENOENT`]],
    ['missing password env var', `${NODE}management: { url: "https://m.example", username: admin, password_env: MGMT_PW }\n`, ['management.password_env: environment variable MGMT_PW (the Management Node password) is not set or empty']],
    ['missing password file', `${NODE}management: { url: "https://m.example", username: admin, password_file: nope.txt }\n`, [`management.password_file: cannot read ${join(dir, 'nope.txt')} (the Management Node password): ENOENT`]],
    ['user without password', `${NODE}management: { url: "https://m.example", username: admin }\n`, ['management.password_env: set password_env or password_file for the Management Node user (the password never goes in the config text)']],
    ['both password sources', `${NODE}management: { url: "https://m.example", username: admin, password_env: PW, password_file: password }\n`, ['management.password_env: set either management.password_env or management.password_file for the Management Node password, not both'], { PW: 'x' }],
    ['status URL template without address', `${NODE}management: { url: "https://m.example", status_url_template: "https://x/status" }\n`, ['management.status_url_template: must contain {address} (for example https://{address}/api/client/v2/status)']],
    ['missing admin token env var', `${NODE}http: { admin_token_env: TOKEN }\n`, ['http.admin_token_env: environment variable TOKEN (the admin API token) is not set or empty']],
    ['nothing to watch', 'nodes: []\n', ['nodes: no nodes are listed and management.discover is off, so there is nothing to watch']],
    ['nginx upstream in a missing directory', `${NODE}nginx: { upstreams: [ { name: pexip, file: /nonexistent-dir/x.conf } ] }\n`, ['nginx.upstreams[0].file: directory /nonexistent-dir does not exist']],
    ['nginx command not an array', `${NODE}nginx: { upstreams: [ { name: pexip, file: x.conf, reload_command: "nginx -s reload" } ] }\n`, ['nginx.upstreams[0].reload_command: must be a command as an array of arguments, e.g. ["nginx", "-s", "reload"]']],
    ['YAML syntax error', 'nodes: [\n', ['YAML syntax error at line 2: Flow sequence in block collection must be sufficiently indented and end with a ]\n    1 | nodes: [\n    2 | \n      | ^']],
    ['node address with a port', 'nodes:\n  - { name: px01, address: "127.0.0.1:41001" }\n', ['nodes[0].address: "127.0.0.1:41001" holds a port; write only the host name or IP and put the port in port:']],
    ['node address with a path', 'nodes:\n  - { name: px01, address: "px01.example.com/api" }\n', ['nodes[0].address: "px01.example.com/api" holds a path; write only the host name or IP (the status URL goes in status_url)']],
    ['nginx command that does not exist', `${NODE}nginx: { upstreams: [ { name: pexip, file: x.conf, test_command: ["/nonexistent/nginx", "-t"], reload_command: ["true"] } ] }\n`, ['nginx.upstreams[0].test_command: /nonexistent/nginx does not exist or is not an executable file']],
  ];

  it.each(rules)('rejects %s with its exact message', (_name, text, expected, env) => {
    expect(errorsOf(text, env ?? {})).toEqual(expected);
  });

  it('reports every problem at once', () => {
    const errors = errorsOf(`nodes:\n  - { name: px01, address: a }\n  - { name: px01, address: b, port: 0 }\nprobe: { interval: 1s, timeout: 2s, bogus: 1 }\n`);
    expect(errors).toEqual([
      'nodes[1].port: must be a whole number from 1 to 65535',
      'probe.bogus: unknown key "bogus" (check its spelling and place against the configuration reference)',
    ]);
    // Cross-field rules are reported together too.
    expect(errorsOf('nodes:\n  - { name: px01, address: a }\n  - { name: px01, address: b }\nprobe: { interval: 1s, timeout: 2s }\n')).toEqual([
      'nodes[1].name: "px01" is already used by nodes[0]; node names must be unique',
      'probe.timeout: must be shorter than probe.interval (2s is not below 1s)',
    ]);
  });

  it('reads a secret from a file, trimmed', () => {
    const result = loadConfigText(`${NODE}management: { url: "https://m.example", username: admin, password_file: password }\n`, { baseDir: dir, env: {} });
    expect(result.ok && result.secrets.managementPassword).toBe('s3cret');
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500], ['2s', 2000], ['1m', 60_000], ['1h', 3_600_000], ['1m30s', 90_000], ['1.5s', 1500], ['0s', 0],
  ])('parses %s as %i ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', 's', '1x', '-1s', '1s ms'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());
});
