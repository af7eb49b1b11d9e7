// Table tests for the pure verdict → HAProxy agent reply formatter.

import { describe, expect, it } from 'vitest';
import { formatAgentReply, MAX_DESCRIPTION_LENGTH, replyResult, sanitizeDescription } from '../../../src/frontends/haproxy/reply.js';
import type { NodeState } from '../../../src/core/verdict.js';

const verdict = (state: NodeState, weight = 100, reason = '') => ({ name: 'px01', state, weight, reason });

describe('formatAgentReply', () => {
  it.each([
    ['ready at full weight', verdict('ready', 100), 'up ready 100%\n'],
    ['ready with a load-derived weight', verdict('ready', 65), 'up ready 65%\n'],
    ['ready with the minimum weight', verdict('ready', 1), 'up ready 1%\n'],
    ['ready with an out-of-range weight (clamped high)', verdict('ready', 250), 'up ready 100%\n'],
    ['ready with an out-of-range weight (clamped low)', verdict('ready', 0), 'up ready 1%\n'],
    ['ready with a fractional weight (rounded)', verdict('ready', 64.6), 'up ready 65%\n'],
    ['ready with a NaN weight (least traffic: the one NaN policy of clampWeight)', verdict('ready', Number.NaN), 'up ready 1%\n'],
    ['ready ignores the reason', verdict('ready', 40, 'ok'), 'up ready 40%\n'],
    ['draining with a reason', verdict('draining', 100, 'Node is in maintenance mode'), 'up drain #Node is in maintenance mode\n'],
    ['draining without a reason', verdict('draining', 100, ''), 'up drain\n'],
    ['maint with a reason', verdict('maint', 100, 'operator override: decommission'), 'up maint #operator override: decommission\n'],
    ['down with a reason', verdict('down', 100, 'refused: connect ECONNREFUSED'), 'down #refused: connect ECONNREFUSED\n'],
    ['down without a reason', verdict('down', 100, '   '), 'down\n'],
    ['unknown changes nothing', verdict('unknown', 100, 'no probe result yet'), '\n'],
  ])('replies for %s', (_label, input, expected) => {
    expect(formatAgentReply(input)).toBe(expected);
  });

  it('replies with an empty line for a node name drainwatch does not know', () => {
    expect(formatAgentReply(undefined)).toBe('\n');
  });

  it('never lets a reason inject a second line, a second description or control bytes', () => {
    const reply = formatAgentReply(verdict('draining', 100, 'upgrade\r\nup ready 100%\n#x\0\ttab\x1b[31m'));
    expect(reply).toBe('up drain #upgrade up ready 100% x tab [31m\n');
    expect(reply.indexOf('\n')).toBe(reply.length - 1);
    expect(reply).not.toMatch(/\r/);
    expect(reply.split('#')).toHaveLength(2);
  });

  it('truncates long reasons to what HAProxy shows, with an ellipsis', () => {
    const reply = formatAgentReply(verdict('maint', 100, 'x'.repeat(5000)));
    const description = reply.slice(reply.indexOf('#') + 1, -1);
    expect(description.length).toBeLessThanOrEqual(MAX_DESCRIPTION_LENGTH - 1);
    expect(description.endsWith('...')).toBe(true);
    expect(reply.length).toBeLessThanOrEqual('up maint #'.length + MAX_DESCRIPTION_LENGTH + 1);
  });

  it.each([
    ['plain text', 'SW upgrade', 'SW upgrade'],
    ['CR and LF', 'a\r\nb', 'a b'],
    ['hash signs', '#1 #2', '1 2'],
    ['non-ASCII letters', 'Wartung läuft', 'Wartung l uft'],
    ['only whitespace', ' \t\n ', ''],
    ['exactly the limit', 'y'.repeat(13), 'y'.repeat(13)],
    ['one over the limit', 'y'.repeat(14), 'yyyyyyyyyy...'],
  ])('sanitises %s', (_label, input, expected) => {
    expect(sanitizeDescription(input, 13)).toBe(expected);
  });

  it.each([
    [verdict('ready'), 'ready'],
    [verdict('draining'), 'drain'],
    [verdict('maint'), 'maint'],
    [verdict('down'), 'down'],
    [verdict('unknown'), 'unknown'],
    [undefined, 'unknown_node'],
  ])('labels the reply for the metric (%#)', (input, expected) => {
    expect(replyResult(input)).toBe(expected);
  });
});
