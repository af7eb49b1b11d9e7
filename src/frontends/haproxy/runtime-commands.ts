// Pure HAProxy runtime-API text: the `set server` commands for a verdict, and reading the CLI's answers.

import { clampWeight } from '../../core/weight.js';
import type { NodeVerdict } from '../../core/snapshot.js';

/*
 * Runtime API commands, as HAProxy 2.6's CLI takes them (one connection, commands
 * separated by ";" on one line, HAProxy answers each and closes):
 *
 *   set server <backend>/<server> state  ready | drain | maint
 *   set server <backend>/<server> weight <N>%          ; of the configured weight (100)
 *   set server <backend>/<server> health up | down     ; forced health; HAProxy's own
 *                                                      ; `check` may overturn it later
 *
 *   ready, weight W  ->  state ready; weight W%   (+ health up if we forced it down)
 *   draining         ->  state drain               (+ health up if we forced it down)
 *   maint            ->  state maint
 *   down             ->  health down               (admin state kept, as the agent does)
 *   unknown          ->  nothing                   (HAProxy keeps what it has)
 *
 * Each command's answer is its output followed by one empty line; an empty output means
 * it worked, anything else ("No such server.", "Permission denied") is the error text.
 */

/**
 * The commands that bring one HAProxy server to a verdict.
 *
 * @example runtimeCommands('pexip', { name: 'px01', state: 'ready', weight: 65 }, false)
 * // ['set server pexip/px01 state ready', 'set server pexip/px01 weight 65%']
 */
export function runtimeCommands(backend: string, verdict: Pick<NodeVerdict, 'name' | 'state' | 'weight'>, forcedDown: boolean): string[] {
  const server = `set server ${backend}/${verdict.name}`;
  const healthUp = forcedDown ? [`${server} health up`] : [];
  switch (verdict.state) {
    case 'ready':
      return [`${server} state ready`, `${server} weight ${clampWeight(verdict.weight)}%`, ...healthUp];
    case 'draining':
      return [`${server} state drain`, ...healthUp];
    case 'maint':
      return [`${server} state maint`];
    case 'down':
      return [`${server} health down`];
    case 'unknown':
      return [];
  }
}

/**
 * What a pushed server's commands amount to, so a re-push can tell whether anything changed
 * (the state, and for ready the weight HAProxy was given).
 *
 * @example pushKey({ state: 'ready', weight: 64.6 }) // 'ready 65'
 */
export function pushKey(verdict: Pick<NodeVerdict, 'state' | 'weight'>): string {
  return verdict.state === 'ready' ? `ready ${clampWeight(verdict.weight)}` : verdict.state;
}

/**
 * Splits a CLI answer to `count` ";"-separated commands into one output per command
 * (each output is followed by an empty line; a successful `set` prints nothing).
 * Returns null when the answer does not have that shape (a truncated answer).
 *
 * @example splitCliAnswer('\nNo such server.\n\n', 2) // ['', 'No such server.']
 */
export function splitCliAnswer(text: string, count: number): string[] | null {
  const outputs: string[] = [];
  let at = 0;
  for (let i = 0; i < count; i += 1) {
    if (at >= text.length) return null;
    if (text[at] === '\n') {
      outputs.push('');
      at += 1;
      continue;
    }
    const end = text.indexOf('\n\n', at);
    if (end < 0) return null;
    outputs.push(text.slice(at, end));
    at = end + 2;
  }
  return outputs;
}

/**
 * The identity of a running HAProxy process from `show info` (changes on restart or reload).
 *
 * @example processIdentity('Pid: 8831\nStart_time_sec: 1795836385\n') // '8831@1795836385'
 */
export function processIdentity(showInfo: string): string | null {
  const pid = /^Pid: *(\d+)/m.exec(showInfo)?.[1];
  const started = /^Start_time_sec: *(\d+)/m.exec(showInfo)?.[1];
  return pid ? `${pid}@${started ?? '?'}` : null;
}
