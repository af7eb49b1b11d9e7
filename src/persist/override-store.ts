// Persists operator overrides in `state.file` (through the shared atomic write) so they survive restarts.

import { copyFileSync, constants as fsConstants, existsSync, readFileSync, renameSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { cleanStaleTempFiles, writeFileAtomic } from './atomic-write.js';
import type { Logger } from '../core/logger.js';
import type { Override } from '../core/verdict.js';

/*
 * File format (JSON, written whole every time):
 *
 *   {
 *     "format": "drainwatch-overrides",
 *     "version": 1,
 *     "saved_at": "2024-05-01T10:00:00.000Z",
 *     "overrides": {
 *       "<node name>": { "state": "drain"|"maint"|"ready", "reason": "...", "by": "...",
 *                        "set_at": "<ISO-8601>", "expires_at": "<ISO-8601>" | null }
 *     }
 *   }
 */
export const STATE_FILE_FORMAT = 'drainwatch-overrides';
export const STATE_FILE_VERSION = 1;

export type LoadedOverrides = {
  overrides: Map<string, Override>;
  /** Entries dropped because they had expired while drainwatch was not running. */
  expired: string[];
  /** Entries set aside because they were malformed (the rest loaded); the whole file was copied to `corruptPath`. */
  quarantined?: Array<{ name: string; why: string }>;
  /** Set when the file existed but could not be used; it was moved to `corruptPath`. */
  error?: string;
  corruptPath?: string;
};

export type OverrideStoreOptions = {
  /** The state file, or null to keep overrides in memory only. */
  file: string | null;
  logger: Logger;
  clock?: () => number;
  /** Called after each write attempt (metrics). */
  onWrite?: (result: 'ok' | 'failed') => void;
  /** First delay before a failed write is retried, doubled per failure up to 60 s (default 1 s). */
  retryMs?: number;
};

const MAX_RETRY_MS = 60_000;

const iso = (ms: number) => new Date(ms).toISOString();

/** Serialises overrides to the state file text (pure). */
export function formatOverrides(overrides: ReadonlyMap<string, Override>, now: number): string {
  const entries: Record<string, unknown> = {};
  for (const [name, override] of [...overrides].sort(([a], [b]) => a.localeCompare(b))) {
    entries[name] = {
      state: override.state,
      reason: override.reason,
      by: override.by,
      set_at: iso(override.setAt),
      expires_at: override.expiresAt === null ? null : iso(override.expiresAt),
    };
  }
  return `${JSON.stringify({ format: STATE_FILE_FORMAT, version: STATE_FILE_VERSION, saved_at: iso(now), overrides: entries }, null, 2)}\n`;
}

/**
 * Parses state file text (pure). Throws an Error with a plain sentence when the
 * text is not a valid state file; drops (and lists) entries that have expired; sets
 * aside (and lists, with why) single malformed entries, so one bad entry never costs the others.
 */
export function parseOverrides(text: string, now: number): { overrides: Map<string, Override>; expired: string[]; quarantined: Array<{ name: string; why: string }> } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(raw) || raw.format !== STATE_FILE_FORMAT) throw new Error(`not a drainwatch override file (expected "format": "${STATE_FILE_FORMAT}")`);
  if (raw.version !== STATE_FILE_VERSION) throw new Error(`unsupported version ${JSON.stringify(raw.version)} (this drainwatch reads version ${STATE_FILE_VERSION})`);
  if (!isObject(raw.overrides)) throw new Error('"overrides" must be an object of node name → override');
  const overrides = new Map<string, Override>();
  const expired: string[] = [];
  const quarantined: Array<{ name: string; why: string }> = [];
  for (const [name, entry] of Object.entries(raw.overrides)) {
    try {
      const parsed = parseEntry(name, entry, now);
      if (parsed === 'expired') expired.push(name);
      else overrides.set(name, parsed);
    } catch (error) {
      quarantined.push({ name, why: (error as Error).message });
    }
  }
  return { overrides, expired, quarantined };
}

function parseEntry(name: string, entry: unknown, now: number): Override | 'expired' {
  const where = `overrides.${name}`;
  if (!isObject(entry)) throw new Error(`${where} must be an object`);
  const { state, reason, by } = entry;
  if (state !== 'drain' && state !== 'maint' && state !== 'ready') throw new Error(`${where}.state must be drain, maint or ready`);
  if (typeof reason !== 'string') throw new Error(`${where}.reason must be a string`);
  if (typeof by !== 'string') throw new Error(`${where}.by must be a string`);
  const setAt = parseTime(entry.set_at, `${where}.set_at`, false);
  const expiresAt = parseTime(entry.expires_at, `${where}.expires_at`, true);
  if (expiresAt !== null && expiresAt <= now) return 'expired';
  return { state, reason, by, setAt: setAt as number, expiresAt };
}

/**
 * Where an unusable state file is kept: `<file>.corrupt`, or `.corrupt.1`, `.corrupt.2`, … when
 * older ones exist, so a second bad file never overwrites the first.
 *
 * @example corruptPathFor('/var/lib/drainwatch/overrides.json') // '/var/lib/drainwatch/overrides.json.corrupt'
 */
export function corruptPathFor(file: string): string {
  if (!existsSync(`${file}.corrupt`)) return `${file}.corrupt`;
  for (let n = 1; n < 1000; n += 1) if (!existsSync(`${file}.corrupt.${n}`)) return `${file}.corrupt.${n}`;
  return `${file}.corrupt.${Date.now()}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseTime(value: unknown, where: string, nullable: boolean): number | null {
  if (value === null && nullable) return null;
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new Error(`${where} must be an ISO-8601 time${nullable ? ' or null' : ''}`);
  return ms;
}

/**
 * Reads and writes the override state file. Loading never throws: a missing
 * file means no overrides; an unusable one is moved aside to `<file>.corrupt`
 * (nothing is lost) and the service starts without overrides.
 *
 * @example
 * const store = new OverrideStore({ file: '/var/lib/drainwatch/overrides.json', logger });
 * for (const [name, o] of store.load().overrides) core.setOverride(name, o);
 * await store.save(core.listOverrides());
 */
export class OverrideStore {
  private file: string | null;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly onWrite: ((result: 'ok' | 'failed') => void) | undefined;
  private lastWritten: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly retryMs: number;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(options: OverrideStoreOptions) {
    this.file = options.file;
    this.logger = options.logger;
    this.clock = options.clock ?? Date.now;
    this.onWrite = options.onWrite;
    this.retryMs = options.retryMs ?? 1000;
  }

  /** Stops retrying a failed write (service close). Idempotent. */
  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  get path(): string | null {
    return this.file;
  }

  /** Points the store at another file (config reload); the next save writes there. */
  setFile(file: string | null): void {
    if (file === this.file) return;
    this.file = file;
    this.lastWritten = null;
  }

  /** Reads the state file (synchronously: it runs once, before the first verdict) after removing temp files a crash left. */
  load(): LoadedOverrides {
    const file = this.file;
    if (!file) return { overrides: new Map(), expired: [] };
    const stale = cleanStaleTempFiles(dirname(file), basename(file));
    if (stale.length > 0) this.logger.warn({ file, removed: stale }, `removed ${stale.length} temp file(s) an interrupted write of ${file} left behind`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { overrides: new Map(), expired: [] };
      const message = `cannot read state file ${file}: ${code ?? (error as Error).message}`;
      this.logger.error({ file }, `${message}; starting without saved overrides`);
      return { overrides: new Map(), expired: [], error: message };
    }
    try {
      const parsed = parseOverrides(text, this.clock());
      // The file on disk still holds the expired (or quarantined) ones; the first save rewrites it.
      this.lastWritten = parsed.expired.length === 0 && parsed.quarantined.length === 0 ? text : null;
      if (parsed.quarantined.length === 0) return { overrides: parsed.overrides, expired: parsed.expired };
      // Copied, not moved: the good entries stay in force and in the file until the next save.
      const corruptPath = corruptPathFor(file);
      try {
        copyFileSync(file, corruptPath, fsConstants.COPYFILE_EXCL);
      } catch (copyError) {
        this.logger.error({ file, err: copyError }, `could not keep a copy of ${file} before setting entries aside`);
      }
      this.logger.error(
        { file, kept_as: corruptPath, quarantined: parsed.quarantined },
        `state file ${file}: ${parsed.quarantined.length} malformed override(s) set aside (a copy of the file is ${corruptPath}); the other ${parsed.overrides.size} loaded`,
      );
      return { overrides: parsed.overrides, expired: parsed.expired, quarantined: parsed.quarantined, corruptPath };
    } catch (error) {
      const corruptPath = corruptPathFor(file);
      const message = `state file ${file} is unusable: ${(error as Error).message}`;
      try {
        renameSync(file, corruptPath);
        this.logger.error({ file, kept_as: corruptPath }, `${message}; moved it to ${corruptPath} and started without saved overrides`);
      } catch (renameError) {
        this.logger.error({ file, err: renameError }, `${message}; could not move it aside either, starting without saved overrides`);
      }
      return { overrides: new Map(), expired: [], error: message, corruptPath };
    }
  }

  /**
   * Writes the overrides atomically (temp file in the same directory, fsync,
   * rename, fsync of the directory). Writes are serialised; unchanged content
   * is not rewritten. Resolves false (and logs) when the write failed.
   */
  save(overrides: ReadonlyMap<string, Override>): Promise<boolean> {
    // A newer save supersedes a pending retry: it carries the latest overrides.
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const run = this.queue.then(() => this.write(overrides));
    this.queue = run.catch(() => undefined);
    void run.then((ok) => this.afterWrite(ok, overrides));
    return run;
  }

  /** A failed write is retried with doubling back-off until it lands, not left until the next change. */
  private afterWrite(ok: boolean, overrides: ReadonlyMap<string, Override>): void {
    if (ok) {
      if (this.failures > 0) this.logger.info({ file: this.file, after: this.failures }, 'state file written again after failed attempts');
      this.failures = 0;
      return;
    }
    this.failures += 1;
    if (this.retryTimer) return;
    const delay = Math.min(MAX_RETRY_MS, this.retryMs * 2 ** Math.min(this.failures - 1, 16));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      const run = this.queue.then(() => this.write(overrides));
      this.queue = run.catch(() => undefined);
      void run.then((again) => this.afterWrite(again, overrides));
    }, delay);
    this.retryTimer.unref();
  }

  private async write(overrides: ReadonlyMap<string, Override>): Promise<boolean> {
    const file = this.file;
    if (!file) return true;
    const text = formatOverrides(overrides, this.clock());
    if (this.lastWritten !== null && sameOverrides(this.lastWritten, text)) return true;
    try {
      // 0600: reasons and operator names are not for every local user.
      await writeFileAtomic(file, text, { mode: 0o600 });
      this.lastWritten = text;
      this.onWrite?.('ok');
      return true;
    } catch (error) {
      this.onWrite?.('failed');
      this.logger.error({ file, err: error }, `cannot write state file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; overrides are in force but will not survive a restart`);
      return false;
    }
  }
}

/** Compares two state texts ignoring `saved_at`. */
function sameOverrides(a: string, b: string): boolean {
  const strip = (text: string) => text.replace(/"saved_at": "[^"]*",/, '');
  return strip(a) === strip(b);
}
