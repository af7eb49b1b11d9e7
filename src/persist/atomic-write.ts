// The one atomic file replacement (random O_EXCL temp name, fsync, rename, directory fsync) and its stale-temp cleanup.

import { randomBytes } from 'node:crypto';
import { constants, lstatSync, readdirSync, unlinkSync } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FileHandle } from 'node:fs/promises';

export type AtomicWriteOptions = {
  /** Permission bits of the new file (the process umask still applies, as for any created file). */
  mode: number;
  /** Keep the permission bits of the file being replaced, when there is one; `mode` is used otherwise. */
  keepMode?: boolean;
};

/*
 * Temp name grammar: "." <base> "." <16 lower-case hex digits> ".tmp", in the target's own directory
 * (the same file system, so the rename is atomic). The leading "." and the ".tmp" end keep globs such
 * as NGINX's `include conf.d/*.conf` from ever reading a half-written file. Earlier versions wrote
 * "." <base> "." <pid> ".tmp" and "." <base> "." <pid> "." <8 hex> ".tmp"; the cleanup knows those too.
 */
const TEMP_SUFFIX = '.tmp';
// Collisions need a planted file (64 random bits): a few fresh names are plenty, and the loop stays bounded.
const NAME_ATTEMPTS = 4;
// O_EXCL refuses any existing entry, a symlink included; O_NOFOLLOW says the same twice, on purpose.
const CREATE_FLAGS = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW;

function tempNameFor(base: string): string {
  return `.${base}.${randomBytes(8).toString('hex')}${TEMP_SUFFIX}`;
}

/** Matches our temp names for `base` (current and earlier patterns), and nothing else. */
function tempPattern(base: string): RegExp {
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\.${escaped}\\.(?:\\d+\\.)?[0-9a-f]+\\.tmp$`);
}

async function createTemp(dir: string, base: string, mode: number): Promise<{ path: string; handle: FileHandle }> {
  for (let attempt = 1; ; attempt += 1) {
    const path = join(dir, tempNameFor(base));
    try {
      return { path, handle: await open(path, CREATE_FLAGS, mode) };
    } catch (error) {
      // Someone else's entry (maybe a planted symlink): never touch it, take another name.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= NAME_ATTEMPTS) throw error;
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    return; // the rename is done; durability of the directory entry is best effort here
  }
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is done.
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `data` so that a reader sees the old file or the new one, never half of one,
 * and a crash leaves one of the two: temp file (created exclusively, never through a symlink),
 * write, fsync, rename over `path`, fsync of the directory so the rename itself survives. On any
 * failure the temp file is removed and the error is thrown; `path` is then unchanged.
 *
 * @example
 * await writeFileAtomic('/var/lib/drainwatch/overrides.json', text, { mode: 0o600 });
 * await writeFileAtomic('/etc/nginx/conf.d/pexip.conf', text, { mode: 0o644, keepMode: true });
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions): Promise<void> {
  const dir = dirname(path);
  const mode = options.keepMode ? await stat(path).then((s) => s.mode & 0o777, () => options.mode) : options.mode;
  const temp = await createTemp(dir, basename(path), mode);
  try {
    try {
      await temp.handle.writeFile(data);
      await temp.handle.sync();
    } finally {
      await temp.handle.close();
    }
    await rename(temp.path, path);
  } catch (error) {
    await unlink(temp.path).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dir);
}

/**
 * Removes temp files that an interrupted write of `<dir>/<base>` left behind (a crash between
 * create and rename). Only entries matching our own temp-name pattern for `base` are removed, and
 * never a directory; a symlink is removed itself, never followed. Returns the names removed.
 * Runs at start, before the first write, so it cannot race our own writes.
 *
 * @example
 * cleanStaleTempFiles('/etc/nginx/conf.d', 'pexip-upstream.conf'); // ['.pexip-upstream.conf.1f2e3d4c5b6a7988.tmp']
 */
export function cleanStaleTempFiles(dir: string, base: string): string[] {
  const pattern = tempPattern(base);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // no directory yet: nothing left behind
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!pattern.test(name)) continue;
    const path = join(dir, name);
    try {
      if (lstatSync(path).isDirectory()) continue;
      unlinkSync(path);
      removed.push(name);
    } catch {
      // gone already, or not ours to remove (permissions): leave it
    }
  }
  return removed;
}
