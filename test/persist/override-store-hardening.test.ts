// The state file under faults: one bad entry set aside, older .corrupt files kept, failed writes retried with back-off.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { OverrideStore, formatOverrides } from '../../src/persist/override-store.js';
import { captureLogger } from '../operator/fleet.js';
import { waitFor } from '../helpers/service.js';
import type { Override } from '../../src/core/verdict.js';

const NOW = Date.parse('2024-05-01T10:00:00.000Z');
const drain: Override = { state: 'drain', reason: 'swap disk', by: 'alice', setAt: NOW - 60_000, expiresAt: null };

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-store-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A valid file for px01 and px03 with a malformed px02 entry in between. */
function withOneBadEntry(): string {
  const good = JSON.parse(formatOverrides(new Map([['px01', drain], ['px03', { ...drain, state: 'maint' }]]), NOW)) as { overrides: Record<string, unknown> };
  good.overrides.px02 = { state: 'sideways', reason: 1 };
  return JSON.stringify(good);
}

describe('override state file hardening', () => {
  it('sets aside one malformed entry, loads the others and keeps a copy of the file', () => {
    const file = join(scratch(), 'overrides.json');
    writeFileSync(file, withOneBadEntry());
    const logger = captureLogger();
    const loaded = new OverrideStore({ file, logger, clock: () => NOW }).load();
    expect([...loaded.overrides.keys()].sort()).toEqual(['px01', 'px03']);
    expect(loaded.quarantined?.map((entry) => entry.name)).toEqual(['px02']);
    expect(loaded.quarantined?.[0]?.why).toMatch(/overrides\.px02\.state must be drain, maint or ready/);
    expect(readFileSync(`${file}.corrupt`, 'utf8')).toContain('sideways');
    expect(logger.lines.find((line) => line.level === 'error')?.message).toMatch(/1 malformed override\(s\) set aside/);
  });

  it('keeps the first .corrupt file when a second unusable file is set aside', () => {
    const file = join(scratch(), 'overrides.json');
    writeFileSync(file, 'first broken file');
    new OverrideStore({ file, logger: captureLogger(), clock: () => NOW }).load();
    writeFileSync(file, 'second broken file');
    new OverrideStore({ file, logger: captureLogger(), clock: () => NOW }).load();
    expect(readFileSync(`${file}.corrupt`, 'utf8')).toBe('first broken file');
    expect(readFileSync(`${file}.corrupt.1`, 'utf8')).toBe('second broken file');
  });

  it('retries a failed write with back-off until it lands, without another change', async () => {
    const dir = scratch();
    const parent = join(dir, 'state');
    writeFileSync(parent, ''); // a file where the directory should be: every write fails
    const results: string[] = [];
    const store = new OverrideStore({ file: join(parent, 'overrides.json'), logger: captureLogger(), clock: () => NOW, onWrite: (r) => results.push(r), retryMs: 20 });
    onTestFinished(() => store.close());
    expect(await store.save(new Map([['px01', drain]]))).toBe(false);
    await waitFor(() => results.length >= 3, 5000, 10, 'retries of the failed write');
    rmSync(parent);
    mkdirSync(parent);
    await waitFor(() => existsSync(join(parent, 'overrides.json')), 5000, 10, 'the retried write on disk');
    await waitFor(() => results.at(-1) === 'ok', 5000, 10, 'the retry counted as ok');
    expect(readFileSync(join(parent, 'overrides.json'), 'utf8')).toContain('"px01"');
  });
});
