// Text sanitisers: what comes from nodes, the Management Node or operators becomes one printable, bounded line.

/** Longest node-supplied detail kept (logs, descriptions). */
export const MAX_DETAIL = 200;

/**
 * Which characters survive (the rest become spaces):
 * - `text`: everything but C0 control characters and DEL (logs, JSON, reasons);
 * - `line`: also no C1 controls and no U+2028/U+2029, so no parser can see a line break (NGINX comments);
 * - `ascii`: printable ASCII only (HAProxy descriptions, which HAProxy stores as bytes in a fixed buffer).
 */
export type Allowed = 'text' | 'line' | 'ascii';

// eslint-disable-next-line no-control-regex
const TEXT_UNSAFE = /[\u0000-\u001f\u007f]/g;
// eslint-disable-next-line no-control-regex
const LINE_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const ASCII_UNSAFE = /[^\x20-\x7e]/g;
const UNSAFE: Record<Allowed, RegExp> = { text: TEXT_UNSAFE, line: LINE_UNSAFE, ascii: ASCII_UNSAFE };

export type SanitizeOptions = {
  /** Longest result, ellipsis included (default MAX_DETAIL). */
  max?: number;
  /** Which characters survive (default `text`). */
  allow?: Allowed;
  /** More characters that become spaces, such as "#" where it would start a second description. */
  also?: string;
  /** What marks a cut (default "…"; "..." where only ASCII may go, "" for a plain cut). */
  ellipsis?: string;
};

/**
 * Keeps untrusted text printable and short: unsafe characters and runs of white space become one
 * space, the result is trimmed, and text longer than `max` is cut (at most `max` characters, the
 * ellipsis included, with no space left before the ellipsis).
 *
 * @example sanitize('Software\r\nupgrade') // 'Software upgrade'
 * @example sanitize('drain #2\n', { allow: 'ascii', also: '#', max: 99, ellipsis: '...' }) // 'drain 2'
 */
export function sanitize(text: string, options: number | SanitizeOptions = {}): string {
  const { max = MAX_DETAIL, allow = 'text', also = '', ellipsis = '…' } = typeof options === 'number' ? { max: options } : options;
  let clean = text.replace(UNSAFE[allow], ' ');
  for (const character of also) clean = clean.replaceAll(character, ' ');
  clean = clean.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  return `${clean.slice(0, Math.max(0, max - ellipsis.length)).trimEnd()}${ellipsis}`;
}
