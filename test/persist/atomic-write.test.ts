// The atomic write helper: replaces whole files, never follows a planted temp name, cleans up after failures and crashes.

import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { cleanStaleTempFiles, writeFileAtomic } from '../../src/persist/atomic-write.js';

// The random source behind temp names, real unless a test forces a name.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, randomBytes: vi.fn(actual.randomBytes) };
});

const FORCED = Buffer.alloc(8); // temp name ".<base>.0000000000000000.tmp"

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-atomic-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// mockReset goes back to the real randomBytes and drops any forced names.
afterEach(() => {
  vi.mocked(randomBytes).mockReset();
});

describe('writeFileAtomic', () => {
  it('replaces the whole file and leaves nothing else in the directory', async () => {
    const dir = scratch();
    const file = join(dir, 'upstream.conf');
    writeFileSync(file, 'old\n');
    await writeFileAtomic(file, 'new\n', { mode: 0o644 });
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(readdirSync(dir)).toEqual(['upstream.conf']);
  });

  it('creates a new file with the mode the caller gives, and keeps the old mode when asked', async () => {
    const dir = scratch();
    const fresh = join(dir, 'overrides.json');
    await writeFileAtomic(fresh, '{}', { mode: 0o600 });
    expect(statSync(fresh).mode & 0o777).toBe(0o600);

    const kept = join(dir, 'upstream.conf');
    writeFileSync(kept, 'old\n');
    chmodSync(kept, 0o640);
    await writeFileAtomic(kept, 'new\n', { mode: 0o644, keepMode: true });
    expect(statSync(kept).mode & 0o777).toBe(0o640);
    expect(readFileSync(kept, 'utf8')).toBe('new\n');
  });

  it('never writes through a symlink planted at its temp name: it takes another name and leaves the link alone', async () => {
    const dir = scratch();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const planted = join(dir, '.upstream.conf.0000000000000000.tmp');
    symlinkSync(victim, planted);
    vi.mocked(randomBytes).mockReturnValueOnce(FORCED as never);

    const file = join(dir, 'upstream.conf');
    await writeFileAtomic(file, 'server 10.0.0.1:443;\n', { mode: 0o644 });

    expect(vi.mocked(randomBytes)).toHaveBeenCalledTimes(2); // the forced name collided, a fresh one was taken
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(planted).isSymbolicLink()).toBe(true);
    expect(readlinkSync(planted)).toBe(victim);
    expect(readFileSync(file, 'utf8')).toBe('server 10.0.0.1:443;\n');
    expect(readdirSync(dir).sort()).toEqual(['.upstream.conf.0000000000000000.tmp', 'upstream.conf', 'victim']);
  });

  it('gives up with EEXIST when every name it tries is taken, touching neither the link, its target nor the file', async () => {
    const dir = scratch();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(dir, '.overrides.json.0000000000000000.tmp'));
    const file = join(dir, 'overrides.json');
    writeFileSync(file, 'before\n');
    vi.mocked(randomBytes).mockReturnValue(FORCED as never);

    await expect(writeFileAtomic(file, 'after\n', { mode: 0o600 })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readFileSync(file, 'utf8')).toBe('before\n');
    expect(lstatSync(join(dir, '.overrides.json.0000000000000000.tmp')).isSymbolicLink()).toBe(true);
  });

  it('removes its temp file when the rename fails, and throws', async () => {
    const dir = scratch();
    // A directory where the file should be: the temp file is written, then the rename over it fails.
    const file = join(dir, 'upstream.conf');
    mkdirSync(file);
    await expect(writeFileAtomic(file, 'text\n', { mode: 0o644 })).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
    expect(readdirSync(dir)).toEqual(['upstream.conf']);
    expect(statSync(file).isDirectory()).toBe(true);
  });

  it('throws when the directory does not exist, creating nothing', async () => {
    const dir = scratch();
    await expect(writeFileAtomic(join(dir, 'missing', 'overrides.json'), '{}', { mode: 0o600 })).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('cleanStaleTempFiles', () => {
  it('removes only leftovers of our own temp-name patterns for that file, and a planted link without following it', () => {
    const dir = scratch();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const ours = ['.a.conf.0123456789abcdef.tmp', '.a.conf.4242.tmp', '.a.conf.4242.deadbeef.tmp'];
    const others = ['a.conf', '.a.conf.tmp', '.a.conf.XYZ.tmp', '.a.conf.0123.tmp.bak', '.b.conf.0123456789abcdef.tmp', '.aXconf.0123.tmp', 'a.conf.0123.tmp'];
    for (const name of [...ours, ...others]) writeFileSync(join(dir, name), 'x');
    symlinkSync(victim, join(dir, '.a.conf.00ff.tmp'));
    mkdirSync(join(dir, '.a.conf.abcd.tmp'));

    const removed = cleanStaleTempFiles(dir, 'a.conf');

    expect(removed.sort()).toEqual([...ours, '.a.conf.00ff.tmp'].sort());
    expect(readdirSync(dir).sort()).toEqual([...others, '.a.conf.abcd.tmp', 'victim'].sort());
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('returns nothing for a directory that does not exist', () => {
    expect(cleanStaleTempFiles(join(scratch(), 'missing'), 'a.conf')).toEqual([]);
  });
});
