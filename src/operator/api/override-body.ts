// The PUT /api/v1/nodes/{name}/override body: parsed and validated (pure), every problem as a sentence.

import { formatDuration, parseDuration } from '../../config/duration.js';
import type { Override } from '../../core/verdict.js';

/** A validated PUT body. */
export type OverrideRequest = { state: Override['state']; reason: string; expiresInMs: number | null };

/** Longest override reason (it is logged and shown on the dashboard). */
export const MAX_REASON_LENGTH = 500;
/** Longest expiry an operator may give (30 days): longer is almost surely a typo. */
export const MAX_EXPIRY_MS = 30 * 24 * 3_600_000;

/*
 * PUT body grammar (JSON object, no other keys):
 *   state       "drain" | "maint" | "ready"           required
 *   reason      string, 1..500 characters, why         required (it is logged and shown)
 *   expires_in  duration "90s" | "30m" | "1h" | null   optional; absent or null: until cleared
 */
/**
 * Validates a PUT body (pure); returns the request or every problem as a sentence.
 *
 * @example parseOverrideBody('{"state":"drain","reason":"upgrade","expires_in":"1h"}')
 * // { ok: true, request: { state: 'drain', reason: 'upgrade', expiresInMs: 3600000 } }
 */
export function parseOverrideBody(text: string): { ok: true; request: OverrideRequest } | { ok: false; problems: string[] } {
  if (text.trim() === '') return { ok: false, problems: ['the request body is empty; send JSON such as {"state": "drain", "reason": "upgrade", "expires_in": "1h"}'] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`the request body is not valid JSON (${(error as Error).message})`] };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, problems: ['the request body must be a JSON object such as {"state": "drain", "reason": "upgrade"}'] };
  }
  const body = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(body)) {
    if (key !== 'state' && key !== 'reason' && key !== 'expires_in') problems.push(`unknown field "${key}" (allowed: state, reason, expires_in)`);
  }
  const { state, reason } = body;
  if (state === undefined) problems.push('"state" is required: one of "drain", "maint", "ready"');
  else if (state !== 'drain' && state !== 'maint' && state !== 'ready') problems.push(`"state" must be one of "drain", "maint", "ready" (got ${JSON.stringify(state)})`);
  if (reason === undefined) problems.push('"reason" is required: say why (it is logged and shown on the dashboard)');
  else if (typeof reason !== 'string') problems.push('"reason" must be a string');
  else if (reason.trim() === '') problems.push('"reason" must not be empty: say why (it is logged and shown on the dashboard)');
  else if (reason.length > MAX_REASON_LENGTH) problems.push(`"reason" is too long (${reason.length} characters; at most ${MAX_REASON_LENGTH})`);
  else if (/[\u0000-\u001f\u007f]/.test(reason)) problems.push('"reason" must not contain control characters or line breaks');
  let expiresInMs: number | null = null;
  const expires = body.expires_in;
  if (expires !== undefined && expires !== null) {
    if (typeof expires !== 'string') problems.push('"expires_in" must be a duration string such as "30m" or "1h", or null');
    else {
      const ms = parseDuration(expires);
      if (ms === undefined) problems.push(`"expires_in": ${JSON.stringify(expires)} is not a duration; write it like "90s", "30m" or "1h"`);
      else if (ms <= 0) problems.push('"expires_in" must be longer than 0s (omit it for an override without expiry)');
      else if (ms > MAX_EXPIRY_MS) problems.push(`"expires_in" must be at most ${formatDuration(MAX_EXPIRY_MS)} (got ${expires})`);
      else expiresInMs = ms;
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, request: { state: state as Override['state'], reason: (reason as string).trim(), expiresInMs } };
}
