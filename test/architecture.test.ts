// Enforces DESIGN §4's one-way imports by reading every import specifier under src/ (type-only imports count too).

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

type Edge = { from: string; specifier: string; target: string };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

// `import … from 'x'`, `export … from 'x'`, `import 'x'` and `import('x')`, across line breaks.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;

/** Import specifiers of a file, comments removed first so examples in JSDoc do not count. */
function specifiersOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  return [...code.matchAll(SPECIFIER)].map((match) => match[1] as string);
}

/** `src/`-relative target of a specifier: a path for relative imports, the bare name otherwise. */
function targetOf(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return relative(SRC, resolve(dirname(file), specifier)).replace(/\\/g, '/').replace(/\.js$/, '.ts');
}

const edges: Edge[] = sourceFiles(SRC).flatMap((file) =>
  specifiersOf(readFileSync(file, 'utf8')).map((specifier) => ({
    from: relative(SRC, file).replace(/\\/g, '/'),
    specifier,
    target: targetOf(file, specifier),
  })),
);

const inside = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);
const isRelative = (edge: Edge) => edge.specifier.startsWith('.');
const show = (list: Edge[]) => list.map((edge) => `${edge.from} imports ${edge.specifier}`);

const CORE_FORBIDDEN_PACKAGES = ['node:fs', 'fs', 'node:fs/promises', 'node:net', 'net', 'undici', 'hono', 'prom-client'];
const LOAD_BALANCERS = ['haproxy', 'envoy', 'nginx'];

describe('architecture', () => {
  it('reads imports from the source tree (the checks below have something to check)', () => {
    expect(edges.length).toBeGreaterThan(100);
    expect(edges.some((edge) => edge.from === 'core/state.ts' && edge.target === 'core/verdict.ts')).toBe(true);
  });

  it('finds import, export-from, side-effect and dynamic imports, but not ones in comments', () => {
    const text = [
      "import { a } from './a.js';",
      "import type {\n  B,\n} from '../b.js';",
      "export { c } from './c.js';",
      "import 'node:fs';",
      "const d = await import('./d.js');",
      "// import { e } from './e.js';",
      "/** @example import { f } from './f.js' */",
    ].join('\n');
    expect(specifiersOf(text)).toEqual(['./a.js', '../b.js', './c.js', 'node:fs', './d.js']);
  });

  it('keeps core free of everything outside core, and of fs, net, undici, hono and prom-client', () => {
    const core = edges.filter((edge) => inside(edge.from, 'core'));
    const outside = core.filter((edge) => isRelative(edge) && !inside(edge.target, 'core'));
    const packages = core.filter((edge) => !isRelative(edge) && CORE_FORBIDDEN_PACKAGES.some((name) => edge.specifier === name || edge.specifier.startsWith(`${name}/`)));
    expect(show([...outside, ...packages])).toEqual([]);
  });

  it('keeps config to config and core', () => {
    const config = edges.filter((edge) => inside(edge.from, 'config') && isRelative(edge));
    expect(show(config.filter((edge) => !inside(edge.target, 'config') && !inside(edge.target, 'core')))).toEqual([]);
  });

  it('never lets a load balancer folder import another load balancer folder', () => {
    const crossing = edges.filter((edge) => {
      const own = LOAD_BALANCERS.find((lb) => inside(edge.from, `frontends/${lb}`));
      return own !== undefined && isRelative(edge) && LOAD_BALANCERS.some((lb) => lb !== own && inside(edge.target, `frontends/${lb}`));
    });
    expect(show(crossing)).toEqual([]);
  });

  it('never lets sources import front-ends or the operator surface', () => {
    const sources = edges.filter((edge) => inside(edge.from, 'sources') && isRelative(edge));
    expect(show(sources.filter((edge) => inside(edge.target, 'frontends') || inside(edge.target, 'operator')))).toEqual([]);
  });
});
