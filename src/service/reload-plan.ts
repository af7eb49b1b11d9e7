// What a config reload must do, worked out from the old and new config alone (pure: no I/O, no clock).

import type { Config } from '../config/schema.js';
import type { Secrets } from '../config/load.js';

/** One step of a reload, in the order the service carries them out. */
export type ReloadAction =
  /** The HTTP listener cannot move while running: the operator is told to restart. */
  | { kind: 'warn-http-listen'; from: string; to: string }
  /** probe.* changed (timeout, TLS, body limit…): a new prober; the old one closes in the background. */
  | { kind: 'replace-prober' }
  /** Always: rise/fall/max_age/policy into the core, interval/jitter/concurrency into the scheduler. */
  | { kind: 'update-rules' }
  /** Always: static nodes may have changed; merged with what discovery found. */
  | { kind: 'apply-inventory' }
  | { kind: 'start-management' }
  /** The Management Node section, its credentials or the shared TLS settings changed. */
  | { kind: 'restart-management' }
  /** The section is gone: stop polling and forget its nodes and its view of the static ones. */
  | { kind: 'stop-management' }
  /** Always, last: each front-end re-reads the (already swapped) config. */
  | { kind: 'reload-frontends' };

export type ReloadSide = { config: Config; secrets: Secrets };

/**
 * Structural equality for parsed config values (plain objects, arrays, primitives); object key
 * order does not matter, array order does. Replaces `JSON.stringify` comparisons, which call
 * two equal sections different when keys come in another order and equal when `undefined` hides a key.
 *
 * @example sameValue({ a: 1, b: [2] }, { b: [2], a: 1 }) // true
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, i) => sameValue(item, other[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  for (const key of keys) if (!sameValue(left[key], right[key])) return false;
  return true;
}

/**
 * The actions that take a running service from `previous` to `next`.
 *
 * @example
 * planReload(running, loaded).map((action) => action.kind)
 * // ['update-rules', 'apply-inventory', 'restart-management', 'reload-frontends']
 */
export function planReload(previous: ReloadSide, next: ReloadSide): ReloadAction[] {
  const actions: ReloadAction[] = [];
  const before = previous.config;
  const after = next.config;
  if (after.http.listen.text !== before.http.listen.text) actions.push({ kind: 'warn-http-listen', from: before.http.listen.text, to: after.http.listen.text });
  if (!sameValue(after.probe, before.probe)) actions.push({ kind: 'replace-prober' });
  actions.push({ kind: 'update-rules' }, { kind: 'apply-inventory' });
  const management = managementChange(previous, next);
  if (management) actions.push({ kind: management });
  actions.push({ kind: 'reload-frontends' });
  return actions;
}

function managementChange(previous: ReloadSide, next: ReloadSide): 'start-management' | 'restart-management' | 'stop-management' | null {
  const had = previous.config.management;
  const has = next.config.management;
  if (!has) return had ? 'stop-management' : null;
  if (!had) return 'start-management';
  const same =
    sameValue(has, had) &&
    // The Management Node client takes the prober's CA bundle and verification opt-in.
    sameValue(next.config.probe.tls, previous.config.probe.tls) &&
    next.secrets.managementPassword === previous.secrets.managementPassword &&
    next.secrets.managementToken === previous.secrets.managementToken;
  return same ? null : 'restart-management';
}
