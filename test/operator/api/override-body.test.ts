// The PUT override body: every malformed body rejected with a sentence naming the problem, valid ones normalised.

import { describe, expect, it } from 'vitest';
import { parseOverrideBody } from '../../../src/operator/api/override-body.js';

describe('override request body validation', () => {
  it.each([
    ['', /the request body is empty/],
    ['{"state": "drain", ', /not valid JSON/],
    ['"drain"', /must be a JSON object/],
    ['{"reason": "x"}', /"state" is required/],
    ['{"state": "off", "reason": "x"}', /"state" must be one of "drain", "maint", "ready" \(got "off"\)/],
    ['{"state": "drain"}', /"reason" is required/],
    ['{"state": "drain", "reason": "   "}', /"reason" must not be empty/],
    ['{"state": "drain", "reason": 5}', /"reason" must be a string/],
    [JSON.stringify({ state: 'drain', reason: 'x'.repeat(501) }), /"reason" is too long \(501 characters; at most 500\)/],
    ['{"state": "drain", "reason": "a\\nb"}', /control characters/],
    ['{"state": "drain", "reason": "x", "expires_in": "soon"}', /"expires_in": "soon" is not a duration/],
    ['{"state": "drain", "reason": "x", "expires_in": 3600}', /"expires_in" must be a duration string/],
    ['{"state": "drain", "reason": "x", "expires_in": "0s"}', /must be longer than 0s/],
    ['{"state": "drain", "reason": "x", "expires_in": "1000h"}', /must be at most 720h/],
    ['{"state": "drain", "reason": "x", "until": "1h"}', /unknown field "until"/],
  ])('rejects %s', (body, message) => {
    const result = parseOverrideBody(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join('; ')).toMatch(message);
  });

  it('accepts a full body and one without expiry', () => {
    expect(parseOverrideBody('{"state": "maint", "reason": " decommission ", "expires_in": "1h30m"}')).toEqual({
      ok: true,
      request: { state: 'maint', reason: 'decommission', expiresInMs: 5_400_000 },
    });
    expect(parseOverrideBody('{"state": "ready", "reason": "force", "expires_in": null}')).toEqual({ ok: true, request: { state: 'ready', reason: 'force', expiresInMs: null } });
  });
});
