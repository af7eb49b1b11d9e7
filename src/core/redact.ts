// Redaction of text a remote server sent back (error pages may echo our Authorization header): a short excerpt, no credentials.

import { sanitize } from './text.js';

/** Longest excerpt of a remote body that may reach a log line or an error message. */
export const MAX_EXCERPT = 80;

const SCHEME_CREDENTIAL = /\b(basic|bearer|digest|negotiate|token)(\s+)[^\s"',;}<]+/gi;
const KEY_VALUE = /(authorization|password|passwd|secret|token|api[_-]?key|cookie)(["']?\s*[:=]\s*["']?)(?:(?:basic|bearer|digest|negotiate)\s+)?[^\s"',;}<&]+/gi;
// Long runs that look like base64/base64url/hex (user:password, tokens, session ids): never worth keeping.
const OPAQUE = /[A-Za-z0-9+/_-]{16,}={0,2}/g;

/**
 * One short printable line of a remote body or error with every credential-looking part masked:
 * `Basic …`/`Bearer …` values, `password=`/`token:`-style values, long base64-looking runs, and
 * each given secret (also as the base64 of `user:password` when both are given).
 *
 * @example redactExcerpt('echo: Authorization: Basic YWRtaW46cHc=', { secrets: ['pw'] }) // 'echo: Authorization: ***'
 */
export function redactExcerpt(text: string, options: { secrets?: readonly (string | undefined)[]; username?: string; max?: number } = {}): string {
  let clean = text;
  const secrets = (options.secrets ?? []).filter((secret): secret is string => typeof secret === 'string' && secret.length >= 3);
  const encoded = options.username !== undefined ? secrets.map((secret) => base64(`${options.username}:${secret}`)) : [];
  for (const secret of [...secrets, ...encoded]) clean = clean.split(secret).join('***');
  clean = clean.replace(KEY_VALUE, '$1$2***').replace(SCHEME_CREDENTIAL, '$1$2***').replace(OPAQUE, '***');
  return sanitize(clean.replace(/\s+/g, ' ').trim(), options.max ?? MAX_EXCERPT);
}

/** Standard base64 without Buffer (core stays free of Node-only APIs beyond the language). */
function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a = 0, b = 0, c = 0] = [bytes[i], bytes[i + 1], bytes[i + 2]];
    const n = (a << 16) | (b << 8) | c;
    out += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? alphabet[(n >> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? alphabet[n & 63]! : '=';
  }
  return out;
}
