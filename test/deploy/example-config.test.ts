// deploy/drainwatch.example.yaml names every configuration key and passes --check-config's loader once its secrets exist.

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';

const EXAMPLE = fileURLToPath(new URL('../../deploy/drainwatch.example.yaml', import.meta.url));
const TEST_CA = fileURLToPath(new URL('../fixtures/ca.pem', import.meta.url));
const TEXT = readFileSync(EXAMPLE, 'utf8');
const SECRETS = { DRAINWATCH_MGMT_PASSWORD: 'example-password', DRAINWATCH_ADMIN_TOKEN: 'example-token' };

/**
 * The example as installed, with its absolute directories moved into a temp dir that has them,
 * and a PATH whose `sudo` is a stand-in (the commands' programs must exist; sudo may not here).
 */
function installExample(): { path: string; PATH: string } {
  const root = mkdtempSync(join(tmpdir(), 'drainwatch-example-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  const dirs: Record<string, string> = {
    '/etc/drainwatch/': join(root, 'etc-drainwatch/'),
    '/etc/nginx/drainwatch/': join(root, 'etc-nginx-drainwatch/'),
    '/var/lib/drainwatch/': join(root, 'var-lib-drainwatch/'),
  };
  let text = TEXT;
  for (const [from, to] of Object.entries(dirs)) {
    mkdirSync(to);
    text = text.replaceAll(from, to);
  }
  copyFileSync(TEST_CA, join(dirs['/etc/drainwatch/']!, 'pexip-ca.pem'));
  const path = join(dirs['/etc/drainwatch/']!, 'config.yaml');
  writeFileSync(path, text);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'sudo'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
  return { path, PATH: `${bin}:${process.env.PATH ?? ''}` };
}

type Def = { type: string; innerType?: Schema; in?: Schema; element?: Schema; shape?: Record<string, Schema>; options?: Schema[] };
type Schema = { _zod: { def: Def } };

/** Every key path of the schema, arrays written as `[]` (e.g. `nginx.upstreams[].settle`). */
function keyPaths(schema: Schema, prefix = ''): string[] {
  const def = schema._zod.def;
  if (def.innerType) return keyPaths(def.innerType, prefix);
  if (def.type === 'pipe' && def.in) return keyPaths(def.in, prefix);
  if (def.type === 'array' && def.element) return keyPaths(def.element, `${prefix}[]`);
  if (def.type === 'object' && def.shape) {
    return Object.entries(def.shape).flatMap(([key, child]) => {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      const below = keyPaths(child, path);
      return below.length === 0 ? [path] : [path, ...below];
    });
  }
  return [];
}

/** Key paths written in the example, counting commented-out alternatives (`# password_file: ...`). */
function examplePaths(): Set<string> {
  // Only lines that read as a key (`# key: ...`, `#   - key: ...`) are uncommented; prose stays a comment.
  const uncommented = TEXT.replace(/^(\s*)# (\s*(?:- )?[a-z_]+:(?: .*)?)$/gm, '$1$2');
  const paths = new Set<string>();
  const walk = (value: unknown, prefix: string): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, `${prefix}[]`);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        const path = prefix === '' ? key : `${prefix}.${key}`;
        paths.add(path);
        walk(child, path);
      }
    }
  };
  // Commented alternatives repeat a key (runtime_api: [] and its commented list): keep the last.
  walk(parse(uncommented, { uniqueKeys: false }), '');
  return paths;
}

describe('deploy/drainwatch.example.yaml', () => {
  it('is valid for --check-config once its secrets and directories exist', () => {
    const installed = installExample();
    const result = loadConfigFile(installed.path, { env: { ...SECRETS, PATH: installed.PATH } });
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('asks for exactly its two secrets when they are missing', () => {
    const installed = installExample();
    const result = loadConfigFile(installed.path, { env: { PATH: installed.PATH } });
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors).toHaveLength(2);
    expect(errors.join('\n')).toContain('DRAINWATCH_MGMT_PASSWORD');
    expect(errors.join('\n')).toContain('DRAINWATCH_ADMIN_TOKEN');
  });

  it('writes out every section and every key of the configuration schema', () => {
    const written = examplePaths();
    const missing = keyPaths(ConfigSchema as unknown as Schema).filter((path) => !written.has(path));
    expect(missing, 'keys the example should show (add them, with a comment)').toEqual([]);
    for (const section of Object.keys(ConfigSchema.shape)) expect(Object.keys(parse(TEXT) as object)).toContain(section);
  });

  it('holds no secret value and no key that the schema does not know', () => {
    expect(TEXT).not.toMatch(/^\s*(password|token|admin_token):/m);
    const unknown = [...examplePaths()].filter((path) => !keyPaths(ConfigSchema as unknown as Schema).includes(path));
    expect(unknown).toEqual([]);
  });
});
