// `drainwatch --version` and `--help`: the version of package.json, every command on one line.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packageVersion } from '../../src/config/version.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function cli(...args: string[]): { status: number | null; stdout: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout };
}

describe('drainwatch --version and --help', () => {
  it('prints the package version and the Node.js version', () => {
    expect(cli('--version')).toEqual({ status: 0, stdout: `drainwatch ${packageVersion()} (Node.js ${process.version})\n` });
  });

  it('lists every subcommand, one line each, and how to get a command\'s own help', () => {
    const { status, stdout } = cli('--help');
    expect(status).toBe(0);
    for (const command of ['--config FILE', '--check-config FILE', '--demo', '--version', 'print haproxy', 'wait-drained NODE', 'maintenance start|status|cancel|exit']) {
      expect(stdout.split('\n').filter((line) => line.includes(`drainwatch ${command}`))).toHaveLength(1);
    }
    expect(stdout).toContain('drainwatch <command> --help');
  });
});
