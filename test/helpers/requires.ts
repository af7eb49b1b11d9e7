// Gates suites on external programs: skip with one line naming the Debian package, or fail under CI=true.

import { accessSync, constants } from 'node:fs';
import { findOnPath } from '../../src/config/executables.js';

/** Programs some suites run for real; each maps to the Debian package that provides it. */
export type Tool = 'haproxy' | 'nginx' | 'nginx-stream' | 'chromium' | 'promtool' | 'systemd-analyze';

type ToolInfo = { package: string; find: () => string | null };

/** Debian's NGINX loads the stream module from here (package libnginx-mod-stream). */
export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

// findOnPath reads PATH at call time, so a test can change it.
export { findOnPath };

const TOOLS: Record<Tool, ToolInfo> = {
  haproxy: { package: 'haproxy', find: () => findOnPath('haproxy') },
  nginx: { package: 'nginx', find: () => findOnPath('nginx') },
  // The module is only useful with nginx itself; both have to be there.
  'nginx-stream': {
    package: 'libnginx-mod-stream',
    find: () => (findOnPath('nginx') !== null && readable(NGINX_STREAM_MODULE) ? NGINX_STREAM_MODULE : null),
  },
  chromium: { package: 'chromium', find: () => findOnPath('chromium') },
  promtool: { package: 'prometheus', find: () => findOnPath('promtool') },
  'systemd-analyze': { package: 'systemd', find: () => findOnPath('systemd-analyze') },
};

/** Where a tool is (an absolute path), or null when it is missing. */
export function toolPath(tool: Tool): string | null {
  return TOOLS[tool].find();
}

function missingText(missing: readonly Tool[]): string {
  const packages = [...new Set(missing.map((tool) => TOOLS[tool].package))];
  return `${missing.join(', ')} not found (apt-get install ${packages.join(' ')}; .ci/run installs it)`;
}

/** The one line printed for a skipped suite, e.g. to assert on it. */
export function skipNote(suite: string, missing: readonly Tool[]): string {
  return `skipped "${suite}": ${missingText(missing)}`;
}

export type RequiresOptions = {
  /** Environment deciding strictness (default process.env): CI=true turns a skip into a failure. */
  env?: NodeJS.ProcessEnv;
  /** Where the skip line goes (default console.warn, which vitest shows under the file's name). */
  warn?: (line: string) => void;
};

/**
 * Decides whether a suite can run: true when every tool is present. When one is missing it
 * prints one line naming the Debian package and returns false — or, with CI=true (where
 * .ci/run installed everything), throws so the run fails instead of passing with less.
 *
 * @example
 * const ready = requires('HAProxy agent mode', ['haproxy']);
 * describe.runIf(ready)('HAProxy agent mode', () => { ... });
 */
export function requires(suite: string, tools: readonly Tool[], options: RequiresOptions = {}): boolean {
  const missing = tools.filter((tool) => toolPath(tool) === null);
  if (missing.length === 0) return true;
  if ((options.env ?? process.env).CI === 'true') {
    throw new Error(`cannot run "${suite}" with CI=true: ${missingText(missing)}`);
  }
  (options.warn ?? console.warn)(skipNote(suite, missing));
  return false;
}
