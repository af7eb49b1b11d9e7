// Text sanitisers: what comes from nodes, the Management Node or operators becomes one printable, bounded line.

/** Longest node-supplied detail kept (logs, descriptions). */
export const MAX_DETAIL = 200;

/**
 * Keeps untrusted text printable and short: control characters and runs of white space become one
 * space, and the result is cut to `max` characters with an ellipsis.
 *
 * @example sanitize('Software\r\nupgrade') // 'Software upgrade'
 */
export function sanitize(text: string, max = MAX_DETAIL): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
