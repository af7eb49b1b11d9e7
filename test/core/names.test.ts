// Table tests for the one node-name pattern (config, discovery and the HAProxy agent all use it).

import { describe, expect, it } from 'vitest';
import { isNodeName, NODE_NAME_PATTERN } from '../../src/core/names.js';

describe('node names', () => {
  it.each(['px01', 'PX01', '1px', 'px01.example.com', 'px_01', 'px-01', 'a'])('accepts %j', (name) => {
    expect(isNodeName(name)).toBe(true);
  });

  it.each(['', '-px01', '.px01', '_px01', 'px 01', 'px01\n', 'px01;', 'px#1', 'px/01', 'px:01', 'pxé01', '[px01]'])('rejects %j', (name) => {
    expect(isNodeName(name)).toBe(false);
  });

  it('is anchored at both ends (a valid prefix does not make a valid name)', () => {
    expect(NODE_NAME_PATTERN.test('px01 down')).toBe(false);
    expect(NODE_NAME_PATTERN.test('evil\npx01')).toBe(false);
  });
});
