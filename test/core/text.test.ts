// Table tests for the one sanitiser: each caller's limit, allowed characters and ellipsis.

import { describe, expect, it } from 'vitest';
import { MAX_DETAIL, sanitize } from '../../src/core/text.js';
import type { SanitizeOptions } from '../../src/core/text.js';

describe('sanitize', () => {
  it.each<[string, string, SanitizeOptions | number | undefined, string]>([
    ['line breaks to one space', 'Software\r\nupgrade', undefined, 'Software upgrade'],
    ['runs of white space collapsed and trimmed', '  lots \t of   space ', undefined, 'lots of space'],
    ['non-ASCII text kept by default', 'Wartung läuft', undefined, 'Wartung läuft'],
    ['U+2028 kept by default but not on a line', 'a\u2028b', { allow: 'line' }, 'a b'],
    ['C1 controls dropped on a line', 'a\u0085b', { allow: 'line' }, 'a b'],
    ['non-ASCII to spaces for ASCII', 'Wartung läuft', { allow: 'ascii' }, 'Wartung l uft'],
    ['extra characters to spaces', 'drain #2 #3', { allow: 'ascii', also: '#' }, 'drain 2 3'],
    ['a long text cut with an ellipsis inside the limit', 'x'.repeat(300), undefined, `${'x'.repeat(MAX_DETAIL - 1)}…`],
    ['a number as the limit', 'abcdefgh', 5, 'abcd…'],
    ['an ASCII ellipsis', 'y'.repeat(14), { max: 13, ellipsis: '...' }, 'yyyyyyyyyy...'],
    ['no space left before the ellipsis', 'abc defgh', { max: 7, ellipsis: '...' }, 'abc...'],
    ['a plain cut', 'abcdefgh', { max: 4, ellipsis: '' }, 'abcd'],
    ['text at the limit untouched', 'abcde', 5, 'abcde'],
    ['only controls to empty', '\r\n\t\u0000', undefined, ''],
  ])('turns %s', (_label, input, options, expected) => {
    expect(sanitize(input, options)).toBe(expected);
  });

  it.each([10, 13, 99, 200])('never returns more than max (%i) characters', (max) => {
    const text = 'word '.repeat(100);
    for (const ellipsis of ['…', '...', '']) expect(sanitize(text, { max, ellipsis }).length).toBeLessThanOrEqual(max);
  });
});
