// Config findings of the attack run: userinfo in URLs, a garbage CA file, a secret pasted where an env-var name goes.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const NODE = { name: 'px01', address: '10.0.1.11' };

function load(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  return loadConfigText(stringify({ haproxy: { agent: null }, ...config }), { env, baseDir: FIXTURES });
}

function errorsOf(result: ReturnType<typeof load>): string {
  return result.ok ? '' : result.errors.join('\n');
}

describe('config hardening', () => {
  it('rejects a user name and password in status_url without echoing the password', () => {
    const result = load({ nodes: [{ ...NODE, status_url: 'https://admin:s3cret-pw@10.0.1.11/api/client/v2/status' }] });
    expect(result.ok).toBe(false);
    expect(errorsOf(result)).toMatch(/nodes\[0\]\.status_url: must not contain a user name or password/);
    expect(errorsOf(result)).not.toContain('s3cret-pw');
  });

  it('rejects userinfo in management.url instead of silently dropping it', () => {
    const result = load({ nodes: [NODE], management: { url: 'https://admin:s3cret-pw@manager.example.com', username: 'admin', password_env: 'PW' } }, { PW: 'x' });
    expect(errorsOf(result)).toMatch(/management\.url: must not contain a user name or password/);
    expect(errorsOf(result)).not.toContain('s3cret-pw');
  });

  it('rejects a CA file that holds no PEM certificate and accepts a real bundle', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drainwatch-ca-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, 'this is not a certificate\n');
    expect(errorsOf(load({ nodes: [NODE], probe: { tls: { ca_file: garbage } } }))).toMatch(/probe\.tls\.ca_file: .* holds no PEM certificate/);
    const broken = join(dir, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAAbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    expect(errorsOf(load({ nodes: [NODE], probe: { tls: { ca_file: broken } } }))).toMatch(/certificate 1 of 1 .* is not a valid certificate/);
    expect(errorsOf(load({ nodes: [NODE], probe: { tls: { ca_file: join(FIXTURES, 'ca.pem') } } }))).toBe('');
  });

  it('rejects a token pasted into admin_token_env without echoing it', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.Zm9v';
    const result = load({ nodes: [NODE], http: { admin_token_env: token } });
    expect(errorsOf(result)).toMatch(/http\.admin_token_env: must be the NAME of an environment variable/);
    expect(errorsOf(result)).not.toContain(token);
    expect(errorsOf(load({ nodes: [NODE], http: { admin_token_env: 'DRAINWATCH_ADMIN_TOKEN' } }, { DRAINWATCH_ADMIN_TOKEN: 't' }))).toBe('');
  });
});
