// The suite gate: present tools run, missing ones skip with one line naming the package, CI=true fails.

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { findOnPath, requires, skipNote } from './requires.js';

function binDir(...names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-requires-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of names) {
    writeFileSync(join(dir, name), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

function withPath(path: string): void {
  const before = process.env.PATH;
  process.env.PATH = path;
  onTestFinished(() => {
    process.env.PATH = before;
  });
}

describe('requires', () => {
  it('lets a suite run when its program is on PATH, without printing', () => {
    withPath(binDir('haproxy'));
    const lines: string[] = [];
    expect(requires('agent suite', ['haproxy'], { env: {}, warn: (line) => lines.push(line) })).toBe(true);
    expect(lines).toEqual([]);
  });

  it('skips a suite whose program is missing with one line naming the Debian package', () => {
    withPath(binDir('nginx'));
    const lines: string[] = [];
    expect(requires('dashboard suite', ['chromium', 'promtool'], { env: {}, warn: (line) => lines.push(line) })).toBe(false);
    expect(lines).toEqual([
      'skipped "dashboard suite": chromium, promtool not found (apt-get install chromium prometheus; .ci/run installs it)',
    ]);
  });

  it('fails instead of skipping when CI=true', () => {
    withPath(binDir());
    expect(() => requires('agent suite', ['haproxy'], { env: { CI: 'true' }, warn: () => {} })).toThrow(
      'cannot run "agent suite" with CI=true: haproxy not found (apt-get install haproxy',
    );
  });

  it('ignores files on PATH that are not executable', () => {
    const dir = binDir();
    writeFileSync(join(dir, 'haproxy'), 'not a program');
    expect(findOnPath('haproxy', dir)).toBeNull();
    expect(findOnPath('haproxy', `${binDir('haproxy')}:${dir}`)).toMatch(/haproxy$/);
  });
});
