// Pure translation of a verdict into one HAProxy agent-check reply line (DESIGN §2, §3).

import { sanitize } from '../../core/text.js';
import { clampWeight } from '../../core/weight.js';
import type { NodeVerdict } from '../../core/snapshot.js';

/**
 * HAProxy keeps a check description in a fixed buffer (HCHK_DESC_LEN, 128 bytes in 2.6)
 * and shows it in `show stat` and the stats page; keep ours well inside it, "#" included.
 */
export const MAX_DESCRIPTION_LENGTH = 100;

/** The reply for verdicts that must change nothing in HAProxy (unknown state, unknown node). */
export const NO_CHANGE_REPLY = '\n';

/**
 * Makes text safe to place after "#" in an agent reply: printable ASCII only (CR, LF, NUL,
 * tabs and other control or non-ASCII bytes would end the line early or garble the stats
 * page), no "#" (so a node-supplied reason cannot look like a second description),
 * whitespace collapsed, trimmed, and cut to `max` characters with "..." when longer.
 *
 * @example sanitizeDescription('Software\r\nupgrade #2') // 'Software upgrade 2'
 */
export function sanitizeDescription(text: string, max = MAX_DESCRIPTION_LENGTH): string {
  return sanitize(text, { max, allow: 'ascii', also: '#', ellipsis: '...' });
}

function withDescription(words: string, reason: string): string {
  const description = sanitizeDescription(reason, MAX_DESCRIPTION_LENGTH - 1);
  return description === '' ? `${words}\n` : `${words} #${description}\n`;
}

/*
 * Agent reply grammar, as HAProxy 2.6 parses it (src/check.c, agent check):
 *
 *   reply       = *( word separator ) [ "#" description ] ( CR / LF )
 *   separator   = SP / HTAB / ","
 *   word        = health / admin / weight / maxconn        ; case-insensitive,
 *                                                          ; last word of a category wins
 *   health      = "up" / "down" / "fail" / "stopped"
 *   admin       = "ready" / "drain" / "maint"
 *   weight      = 1*3DIGIT "%"                             ; of the configured weight
 *   maxconn     = "maxconn:" 1*DIGIT
 *   description = *( any byte but CR / LF )                ; shown in stats, cut at 128 bytes
 *
 * An empty line, or a line with no recognised word, changes nothing ("No status change").
 * A reply without CR/LF is ignored. HAProxy keeps whatever the agent last set and only the
 * agent undoes it, so every reply names a health word, and every reply that lets traffic
 * reach the node also names its admin word (a stale "drain" must never outlive the drain):
 *
 *   ready, weight W  ->  "up ready W%"
 *   draining         ->  "up drain #<reason>"
 *   maint            ->  "up maint #<reason>"
 *   down             ->  "down #<reason>"        (admin state untouched: a node that
 *                                                 reboots while draining stays drained)
 *   unknown          ->  ""                      (no status change)
 */

/**
 * The agent reply line (with its trailing "\n") for one verdict, or for a name drainwatch
 * does not know (`undefined`).
 *
 * @example
 * formatAgentReply(snapshot.get('px01')) // 'up ready 65%\n'
 * formatAgentReply(undefined)            // '\n'
 */
export function formatAgentReply(verdict: Pick<NodeVerdict, 'state' | 'weight' | 'reason'> | undefined): string {
  if (!verdict) return NO_CHANGE_REPLY;
  switch (verdict.state) {
    case 'ready':
      // The percentage of the configured `weight 100`; clampWeight holds the one NaN/range policy.
      return `up ready ${clampWeight(verdict.weight)}%\n`;
    case 'draining':
      return withDescription('up drain', verdict.reason);
    case 'maint':
      return withDescription('up maint', verdict.reason);
    case 'down':
      return withDescription('down', verdict.reason);
    case 'unknown':
      return NO_CHANGE_REPLY;
  }
}

/** The metric label for a reply: the verdict state (drain for draining) or unknown_node. */
export function replyResult(verdict: Pick<NodeVerdict, 'state'> | undefined): string {
  if (!verdict) return 'unknown_node';
  return verdict.state === 'draining' ? 'drain' : verdict.state;
}
