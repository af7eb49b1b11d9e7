// The override state file: format round trip, expiry on load, atomic writes, corrupt files set aside.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { OverrideStore, formatOverrides, parseOverrides } from '../../src/persist/override-store.js';
import { captureLogger } from '../operator/fleet.js';
import type { Override } from '../../src/core/verdict.js';

const NOW = Date.parse('2024-05-01T10:00:00.000Z');

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-store-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const drain: Override = { state: 'drain', reason: 'swap disk', by: 'alice from 127.0.0.1', setAt: NOW - 60_000, expiresAt: NOW + 3_600_000 };
const maint: Override = { state: 'maint', reason: 'decommission', by: 'admin token holder from ::1', setAt: NOW - 1000, expiresAt: null };

describe('override state file format', () => {
  it('round-trips overrides through formatOverrides and parseOverrides', () => {
    const text = formatOverrides(new Map([['px02', maint], ['px01', drain]]), NOW);
    const parsed = parseOverrides(text, NOW);
    expect(parsed.expired).toEqual([]);
    expect([...parsed.overrides]).toEqual([['px01', drain], ['px02', maint]]);
    expect(JSON.parse(text)).toMatchObject({ format: 'drainwatch-overrides', version: 1, overrides: { px01: { state: 'drain', expires_at: '2024-05-01T11:00:00.000Z' } } });
  });

  it('drops overrides that expired while drainwatch was stopped and names them', () => {
    const text = formatOverrides(new Map([['px01', drain], ['px02', maint]]), NOW);
    const parsed = parseOverrides(text, NOW + 2 * 3_600_000);
    expect([...parsed.overrides.keys()]).toEqual(['px02']);
    expect(parsed.expired).toEqual(['px01']);
  });

  it.each([
    ['{not json', /not valid JSON/],
    ['[]', /not a drainwatch override file/],
    ['{"format":"drainwatch-overrides","version":9,"overrides":{}}', /unsupported version 9/],
    ['{"format":"drainwatch-overrides","version":1,"overrides":[]}', /"overrides" must be an object/],
  ])('rejects %s with a plain message', (text, message) => {
    expect(() => parseOverrides(text, NOW)).toThrow(message);
  });

  // One bad entry no longer rejects the file: it is set aside with the same sentence (override-store-hardening.test.ts).
  it.each([
    ['{"format":"drainwatch-overrides","version":1,"overrides":{"px01":{"state":"off","reason":"","by":"","set_at":"2024-05-01T10:00:00Z","expires_at":null}}}', /overrides\.px01\.state must be drain, maint or ready/],
    ['{"format":"drainwatch-overrides","version":1,"overrides":{"px01":{"state":"drain","reason":"x","by":"y","set_at":"yesterday","expires_at":null}}}', /overrides\.px01\.set_at must be an ISO-8601 time/],
  ])('sets aside the bad entry of %s with a plain message', (text, message) => {
    const parsed = parseOverrides(text, NOW);
    expect(parsed.overrides.size).toBe(0);
    expect(parsed.quarantined[0]?.why).toMatch(message);
  });
});

describe('OverrideStore', () => {
  it('writes atomically and leaves no temp file behind; reloading gives the same overrides', async () => {
    const dir = scratch();
    const file = join(dir, 'overrides.json');
    const writes: string[] = [];
    const store = new OverrideStore({ file, logger: captureLogger(), clock: () => NOW, onWrite: (r) => writes.push(r) });
    expect(await store.save(new Map([['px01', drain]]))).toBe(true);
    expect(readdirSync(dir)).toEqual(['overrides.json']);
    // Unchanged content is not rewritten.
    expect(await store.save(new Map([['px01', drain]]))).toBe(true);
    expect(writes).toEqual(['ok']);
    const again = new OverrideStore({ file, logger: captureLogger(), clock: () => NOW });
    expect([...again.load().overrides]).toEqual([['px01', drain]]);
  });

  it('removes temp files an interrupted write left next to the state file when it loads, and nothing else', async () => {
    const dir = scratch();
    const file = join(dir, 'overrides.json');
    await new OverrideStore({ file, logger: captureLogger(), clock: () => NOW }).save(new Map([['px01', drain]]));
    writeFileSync(join(dir, '.overrides.json.0123456789abcdef.tmp'), '{"half": ');
    writeFileSync(join(dir, 'notes.tmp'), 'not ours');
    const logger = captureLogger();
    const loaded = new OverrideStore({ file, logger, clock: () => NOW }).load();
    expect([...loaded.overrides.keys()]).toEqual(['px01']);
    expect(readdirSync(dir).sort()).toEqual(['notes.tmp', 'overrides.json']);
    expect(logger.lines.find((l) => l.level === 'warn')?.message).toMatch(/removed 1 temp file/);
  });

  it('treats a missing file as no overrides and a null file as memory-only', async () => {
    const dir = scratch();
    expect(new OverrideStore({ file: join(dir, 'absent.json'), logger: captureLogger() }).load().overrides.size).toBe(0);
    const memory = new OverrideStore({ file: null, logger: captureLogger() });
    expect(await memory.save(new Map([['px01', drain]]))).toBe(true);
    expect(memory.load().overrides.size).toBe(0);
  });

  it('moves a corrupt file aside as .corrupt, logs a clear error, and starts with no overrides', () => {
    const dir = scratch();
    const file = join(dir, 'overrides.json');
    writeFileSync(file, '{"format": "drainwatch-overrides", "version": 1, "overrides": {"px01": ');
    const logger = captureLogger();
    const loaded = new OverrideStore({ file, logger, clock: () => NOW }).load();
    expect(loaded.overrides.size).toBe(0);
    expect(loaded.error).toMatch(/is unusable: not valid JSON/);
    expect(existsSync(file)).toBe(false);
    expect(readFileSync(`${file}.corrupt`, 'utf8')).toContain('"px01": ');
    const line = logger.lines.find((l) => l.level === 'error');
    expect(line?.message).toMatch(/overrides\.json is unusable: not valid JSON.*moved it to .*overrides\.json\.corrupt/);
  });

  it('reports a failed write without throwing, and counts it', async () => {
    // A parent that is a file fails even for root (who ignores directory permissions).
    const dir = scratch();
    writeFileSync(join(dir, 'not-a-dir'), '');
    const writes: string[] = [];
    const logger = captureLogger();
    const store = new OverrideStore({ file: join(dir, 'not-a-dir', 'overrides.json'), logger, onWrite: (r) => writes.push(r) });
    expect(await store.save(new Map([['px01', drain]]))).toBe(false);
    expect(writes).toEqual(['failed']);
    expect(logger.lines.find((l) => l.level === 'error')?.message).toMatch(/cannot write state file .*will not survive a restart/);
  });
});
