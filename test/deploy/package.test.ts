// What `npm pack` would publish: the service, its examples and deploy files, and no private key.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** The file list of `npm pack --dry-run`; scripts are skipped so no build runs inside a test. */
function packedFiles(): string[] {
  const result = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  expect(result.status, result.stderr).toBe(0);
  const [pack] = JSON.parse(result.stdout) as Array<{ files: Array<{ path: string }> }>;
  return pack!.files.map((file) => file.path);
}

describe('the published package', () => {
  const files = packedFiles();

  it('carries no private key, by name or by content', () => {
    expect(files.filter((path) => /key\.pem$|\.key$/.test(path))).toEqual([]);
    const withKey = files.filter((path) => PRIVATE_KEY.test(readFileSync(join(ROOT, path), 'latin1')));
    expect(withKey).toEqual([]);
  });

  it('ships the licence, the changelog, the systemd unit, the sample config and the alert rules', () => {
    for (const path of [
      'LICENSE',
      'CHANGELOG.md',
      'README.md',
      'deploy/systemd/drainwatch.service',
      'deploy/systemd/nginx-sudo.conf',
      'deploy/drainwatch.example.yaml',
      'deploy/prometheus/drainwatch-alerts.yaml',
    ]) {
      expect(files).toContain(path);
    }
  });

  it('leaves the tests and their fixtures out', () => {
    expect(files.filter((path) => path.startsWith('test/'))).toEqual([]);
  });

  it('would let the check find a key, so an empty result means something', () => {
    expect(PRIVATE_KEY.test(readFileSync(join(ROOT, 'test/fixtures/server-key.pem'), 'latin1'))).toBe(true);
  });
});
