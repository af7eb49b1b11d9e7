// NGINX read-back (pure): the include file on disk against the desired rendering, plus the last test and reload results.

import { createHash } from 'node:crypto';
import { wantFor } from '../../core/lb-sync.js';
import { endpoint } from './render.js';
import type { NodeReading, TargetReading } from '../../core/lb-sync.js';
import type { Snapshot } from '../../core/snapshot.js';

/** The sync-model id of one NGINX upstream. */
export function nginxTargetId(upstream: string): string {
  return `nginx:${upstream}`;
}

/**
 * Every `server` line of an include file: its address and what NGINX reads for it ("weight=65",
 * "down", or the parameters as written when a hand edit used others). Comments are ignored,
 * so the lines are found even when someone dropped drainwatch's `# name` comments.
 *
 * @example serverParams('server 10.0.1.11:443 weight=65; # px01 ready\n') // Map { '10.0.1.11:443' => 'weight=65' }
 */
export function serverParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const match = /^server\s+(\S+)\s*([^;]*);/.exec(line);
    if (!match) continue;
    const words = (match[2] ?? '').trim().split(/\s+/).filter(Boolean);
    const weight = words.find((word) => word.startsWith('weight='));
    // Only what decides traffic: `down`, else the weight (NGINX's default weight is 1).
    params.set(match[1]!, words.includes('down') ? 'down' : (weight ?? 'weight=1'));
  }
  return params;
}

/** A short hash of a file's text (what the API shows of the file on disk). */
export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** One command's outcome as the writer keeps it. */
export type CommandOutcome = { ok: boolean; at: number; code: number | null; timedOut: boolean; output: string };

/** What the writer knows about its upstream at one moment. */
export type NginxState = {
  upstream: string;
  file: string;
  /** The desired rendering's text. */
  desired: string;
  /** The file on disk: its text, null when missing, or the reason it cannot be read. */
  disk: { text: string | null } | { error: string };
  lastTest: CommandOutcome | null;
  lastReload: CommandOutcome | null;
  /** A tested file waits for its reload. */
  reloadOwed: boolean;
  /** When the next retry after a failure is due (epoch ms), or null. */
  retryAt: number | null;
  now: number;
};

const firstLine = (output: string) => (output.split('\n').find((line) => line.trim() !== '') ?? '').trim().slice(0, 160);

function failure(what: 'test_command' | 'reload_command', outcome: CommandOutcome, state: NginxState): string {
  const how = outcome.timedOut ? 'timed out' : outcome.code === null ? 'could not run' : `exit ${outcome.code}`;
  const retry = state.retryAt === null ? '' : `; retrying in ${Math.max(0, Math.ceil((state.retryAt - state.now) / 1000))}s`;
  const said = firstLine(outcome.output);
  return `${what} failed (${how})${said ? `: ${said}` : ''}${retry}`;
}

/**
 * The sync-model reading of one upstream: per node, `want` is what the desired rendering says
 * and `have` what the file on disk says; the target is `diverged` while the last test or
 * reload failed and `unreachable` while the file cannot be read (a directory, no permission).
 *
 * @example nginxReading(state, core.snapshot()).error // null when written, tested and reloaded
 */
export function nginxReading(state: NginxState, snapshot: Snapshot): TargetReading {
  const desired = serverParams(state.desired);
  const disk = 'text' in state.disk && state.disk.text !== null ? serverParams(state.disk.text) : new Map<string, string>();
  const nodes: NodeReading[] = [];
  for (const verdict of snapshot.nodes) {
    const where = endpoint(verdict.address, verdict.port);
    if (where === null) continue; // left out of the rendering (and said so by the writer)
    const want = desired.get(where) ?? wantFor('nginx', verdict);
    const have = disk.get(where) ?? null;
    const pendingReload = state.reloadOwed && want === have && !(state.lastReload && !state.lastReload.ok);
    if (pendingReload) nodes.push({ name: verdict.name, want, have, status: 'converging', reason: 'written and tested; the NGINX reload is due' });
    else nodes.push({ name: verdict.name, want, have, ...(have === null && 'text' in state.disk ? { reason: `${state.file} has no server line for ${where}` } : {}) });
  }
  let error: TargetReading['error'] = null;
  if ('error' in state.disk) error = { status: 'unreachable', reason: `cannot read ${state.file}: ${state.disk.error}` };
  else if (state.lastTest && !state.lastTest.ok) error = { status: 'diverged', reason: failure('test_command', state.lastTest, state) };
  else if (state.reloadOwed && state.lastReload && !state.lastReload.ok) error = { status: 'diverged', reason: failure('reload_command', state.lastReload, state) };
  return { nodes, error, readFailed: 'error' in state.disk };
}
