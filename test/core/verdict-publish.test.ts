// The hand-written visible-field comparison agrees with VISIBLE_FIELDS, field by field.

import { describe, expect, it } from 'vitest';
import { VISIBLE_FIELDS, blankVerdict, sameVisible } from '../../src/core/verdict-publish.js';
import type { NodeVerdict } from '../../src/core/snapshot.js';
import type { NodeSpec, VerdictCore } from '../../src/core/verdict.js';

const spec: NodeSpec = { name: 'px01', address: '10.0.0.1', port: 443, statusUrl: 'https://10.0.0.1/api/client/v2/status', source: 'static' };
const core: VerdictCore = { state: 'ready', weight: 80, load: 20, maintenance: false, degraded: false, reason: 'available' };
const published: NodeVerdict = { ...blankVerdict(spec, 0), ...core, version: 3 };
const other: Record<(typeof VISIBLE_FIELDS)[number], unknown> = {
  address: '10.0.0.2', port: 8443, statusUrl: 'https://x/', source: 'discovered', state: 'draining', weight: 40, load: 60,
  maintenance: true, degraded: true, reason: 'other', override: { state: 'drain', reason: '', by: 't', setAt: 0, expiresAt: null },
  calls: 5, drainedSince: 9, heldByGuard: true,
};

describe('sameVisible', () => {
  it('is true when every visible field matches and the verdict was published', () => {
    expect(sameVisible(published, spec, core, null, null, null, false)).toBe(true);
    expect(sameVisible({ ...published, version: 0 }, spec, core, null, null, null, false)).toBe(false);
  });

  it.each(VISIBLE_FIELDS.map((field) => [field]))('sees a change of %s', (field) => {
    const changed = { ...published, [field]: other[field] } as NodeVerdict;
    expect(sameVisible(changed, spec, core, null, null, null, false)).toBe(false);
  });
});
