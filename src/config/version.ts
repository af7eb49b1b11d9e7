// The package's own version, read once from package.json (two levels above both src/config and dist/config).

import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * The version in drainwatch's package.json ("0.0.0-unknown" if it cannot be read, so a
 * damaged install still starts and says so).
 *
 * @example
 * packageVersion() // "0.1.0"
 */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    cached = typeof pkg.version === 'string' ? pkg.version : '0.0.0-unknown';
  } catch {
    cached = '0.0.0-unknown';
  }
  return cached;
}
