// Table tests for the pure runtime-API text: the commands per verdict and reading the CLI's answers.

import { describe, expect, it } from 'vitest';
import { processIdentity, pushKey, runtimeCommands, splitCliAnswer } from '../../../src/frontends/haproxy/runtime-commands.js';
import type { NodeState } from '../../../src/core/verdict.js';

const verdict = (state: NodeState, weight = 100, reason = '') => ({ name: 'px01', state, weight, reason });

describe('runtimeCommands', () => {
  it.each([
    ['ready', verdict('ready', 65), false, ['set server pexip/px01 state ready', 'set server pexip/px01 weight 65%']],
    ['ready after a forced down', verdict('ready', 100), true, ['set server pexip/px01 state ready', 'set server pexip/px01 weight 100%', 'set server pexip/px01 health up']],
    ['draining', verdict('draining'), false, ['set server pexip/px01 state drain']],
    ['draining after a forced down', verdict('draining'), true, ['set server pexip/px01 state drain', 'set server pexip/px01 health up']],
    ['maint', verdict('maint'), false, ['set server pexip/px01 state maint']],
    ['down', verdict('down'), false, ['set server pexip/px01 health down']],
    ['unknown', verdict('unknown'), false, []],
  ])('sends the commands for %s', (_label, input, forcedDown, expected) => {
    expect(runtimeCommands('pexip', input, forcedDown)).toEqual(expected);
  });
});

describe('splitCliAnswer', () => {
  it.each([
    ['all successes', '\n\n\n', 3, ['', '', '']],
    ['an error in the middle', '\nNo such server.\n\n\n', 3, ['', 'No such server.', '']],
    ['a multi-line output first', 'Name: HAProxy\nPid: 7\n\n\n', 2, ['Name: HAProxy\nPid: 7', '']],
    ['a truncated answer', '\n', 2, null],
    ['an unterminated output', 'Pid: 7\n', 1, null],
  ])('splits %s', (_label, text, count, expected) => {
    expect(splitCliAnswer(text, count)).toEqual(expected);
  });

  it('reads the process identity from show info', () => {
    expect(processIdentity('Name: HAProxy\nPid: 8831\nUptime_sec: 3\nStart_time_sec: 1795836385\n')).toBe('8831@1795836385');
    expect(processIdentity('Unknown command.')).toBeNull();
  });
});

describe('pushKey', () => {
  it.each([
    ['ready with its agent weight', verdict('ready', 64.6), 'ready 65'],
    ['draining by state alone', verdict('draining', 40), 'draining'],
    ['down by state alone', verdict('down'), 'down'],
  ])('keys %s', (_label, input, expected) => {
    expect(pushKey(input)).toBe(expected);
  });
});
