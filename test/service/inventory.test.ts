// Static and discovered nodes merge with static names winning; node lists compare field by field.

import { describe, expect, it } from 'vitest';
import { mergeInventory, sameNodes } from '../../src/service/inventory.js';
import type { NodeSpec } from '../../src/core/verdict.js';

const spec = (name: string, address: string, source: NodeSpec['source'] = 'static'): NodeSpec => ({
  name, address, port: 443, statusUrl: `https://${address}/api/client/v2/status`, source,
});

describe('mergeInventory', () => {
  it('keeps static nodes first and lets a static entry win over a discovered one of the same name', () => {
    const merged = mergeInventory([spec('px01', '10.0.0.1')], [spec('px01', '10.9.9.9', 'discovered'), spec('px02', '10.0.0.2', 'discovered')]);
    expect(merged.map((node) => `${node.name}@${node.address}:${node.source}`)).toEqual(['px01@10.0.0.1:static', 'px02@10.0.0.2:discovered']);
  });

  it('is only the discovered nodes when the config lists none', () => {
    expect(mergeInventory([], [spec('px02', '10.0.0.2', 'discovered')]).map((node) => node.name)).toEqual(['px02']);
  });
});

describe('sameNodes', () => {
  it.each([
    ['the same list', [spec('px01', 'a')], [spec('px01', 'a')], true],
    ['another address', [spec('px01', 'a')], [spec('px01', 'b')], false],
    ['another order', [spec('px01', 'a'), spec('px02', 'b')], [spec('px02', 'b'), spec('px01', 'a')], false],
    ['one node more', [spec('px01', 'a')], [spec('px01', 'a'), spec('px02', 'b')], false],
    ['another source', [spec('px01', 'a')], [spec('px01', 'a', 'discovered')], false],
  ])('compares %s', (_name, a, b, same) => {
    expect(sameNodes(a as NodeSpec[], b as NodeSpec[])).toBe(same);
  });
});
