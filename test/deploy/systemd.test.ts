// The systemd unit (and its NGINX sudo drop-in) pass `systemd-analyze verify` without a warning.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { requires, toolPath } from '../helpers/requires.js';

const SYSTEMD = fileURLToPath(new URL('../../deploy/systemd/', import.meta.url));
const UNIT = readFileSync(join(SYSTEMD, 'drainwatch.service'), 'utf8');
const DROP_IN = readFileSync(join(SYSTEMD, 'nginx-sudo.conf'), 'utf8');
const INSTALLED_BINARY = '/usr/bin/drainwatch';
const SUITE = 'systemd unit (deploy/systemd)';

/**
 * verify refuses a unit whose ExecStart binary is missing, and this machine has no installed
 * drainwatch: the copy points ExecStart/ExecStartPre at node itself (an executable that exists),
 * which changes nothing else verify looks at.
 */
function verify(dropIn?: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-unit-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'drainwatch.service'), UNIT.replaceAll(INSTALLED_BINARY, process.execPath));
  if (dropIn !== undefined) {
    mkdirSync(join(dir, 'drainwatch.service.d'));
    writeFileSync(join(dir, 'drainwatch.service.d', 'nginx-sudo.conf'), dropIn);
  }
  const result = spawnSync(toolPath('systemd-analyze') ?? 'systemd-analyze', ['verify', join(dir, 'drainwatch.service')], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

describe('the drainwatch.service text', () => {
  it('runs the globally installed binary as the drainwatch user and reloads with SIGHUP', () => {
    expect(UNIT).toMatch(/^User=drainwatch$/m);
    expect(UNIT).toMatch(new RegExp(`^ExecStart=${INSTALLED_BINARY} --config /etc/drainwatch/config.yaml$`, 'm'));
    expect(UNIT).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(UNIT).toMatch(/^Restart=on-failure$/m);
  });

  it('is hardened and may write only the state directory and the NGINX include directory', () => {
    for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'StateDirectory=drainwatch']) {
      expect(UNIT.split('\n')).toContain(line);
    }
    expect(UNIT.match(/^ReadWritePaths=.*$/gm)).toEqual(['ReadWritePaths=-/etc/nginx/drainwatch']);
    // V8 compiles to executable memory: this would kill drainwatch at its first JIT.
    expect(UNIT).not.toMatch(/^MemoryDenyWriteExecute=yes/m);
  });
});

describe.runIf(requires(SUITE, ['systemd-analyze']))(SUITE, () => {
  it('passes systemd-analyze verify with no message at all', () => {
    expect(verify()).toEqual({ status: 0, output: '' });
  });

  it('passes with the NGINX sudo drop-in loaded beside it', () => {
    expect(verify(DROP_IN)).toEqual({ status: 0, output: '' });
  });

  it('would report a misspelt directive, so a clean run means something', () => {
    const result = verify('[Service]\nNoNewPrivilege=no\n');
    expect(result.output).toContain("Unknown key 'NoNewPrivilege'");
  });
});
