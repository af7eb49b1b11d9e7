// Loads a YAML config file: parse, validate, fill defaults, check cross-field rules, resolve secrets.

import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { formatHost } from './address.js';
import { checkRules } from './rules.js';
import { parseSections } from './sections.js';
import { describeYamlErrors } from './yaml-errors.js';
import type { z } from 'zod';
import type { Config } from './schema.js';
import type { Secrets } from './rules.js';
import type { PartialConfig } from './sections.js';

export type { Secrets } from './rules.js';

export type LoadedConfig = { config: Config; secrets: Secrets; source: string };
export type LoadResult = ({ ok: true } & LoadedConfig) | { ok: false; errors: string[]; source: string };

export type LoadOptions = {
  /** Environment to read secrets from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Directory relative paths in the config are resolved against (default: the file's directory). */
  baseDir?: string;
  /** false: secrets are neither read nor required, for offline commands (default true). */
  secrets?: boolean;
};

/**
 * Reads and validates a config file; every problem is collected, none thrown.
 *
 * @example
 * const result = loadConfigFile('/etc/drainwatch.yaml');
 * if (!result.ok) console.error(result.errors.join('\n'));
 */
export function loadConfigFile(path: string, options: LoadOptions = {}): LoadResult {
  let text: string;
  try {
    // Checked before reading: a huge file would stall the event loop (and a reload) for seconds.
    const size = statSync(path).size;
    if (size > MAX_CONFIG_BYTES) return { ok: false, source: path, errors: [tooLarge(size)] };
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, source: path, errors: [`cannot read config file ${path}: ${(error as Error).message}`] };
  }
  return loadConfigText(text, { baseDir: dirname(resolve(path)), ...options }, path);
}

/**
 * Validates config text (YAML or JSON); `source` names it in messages. Every problem is
 * reported in one pass: each section (and each node) is validated on its own, and the
 * cross-field rules run on whatever parsed, skipping only rules whose inputs are broken.
 */
export function loadConfigText(text: string, options: LoadOptions = {}, source = '<config>'): LoadResult {
  const env = options.env ?? process.env;
  const baseDir = options.baseDir ?? process.cwd();
  if (text.length > MAX_CONFIG_BYTES) return { ok: false, source, errors: [tooLarge(Buffer.byteLength(text))] };
  let raw: unknown;
  try {
    const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (document.errors.length > 0) return { ok: false, source, errors: describeYamlErrors(document.errors, text) };
    raw = document.toJS({ maxAliasCount: MAX_YAML_ALIASES }) ?? {};
  } catch (error) {
    // toJS() throws (e.g. ReferenceError "Excessive alias count") instead of listing: a problem, never a crash.
    return { ok: false, source, errors: [describeParserThrow(error)] };
  }
  const sections = parseSections(raw);
  const errors = sections.issues.map((issue) => describeIssue(issue, raw));
  const config = resolvePaths(sections.config, baseDir);
  const secrets = checkRules(config, { env, secrets: options.secrets !== false, nodeIndex: sections.nodeIndex, nodesInFile: sections.nodesInFile }, errors);
  if (errors.length > 0) return { ok: false, source, errors };
  return { ok: true, source, config: config as Config, secrets };
}

/** Largest config file accepted (a config for thousands of nodes is far below this). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Most YAML alias uses (`*name`) resolved; more is refused (the "billion laughs" guard of the yaml library). */
export const MAX_YAML_ALIASES = 100;

function tooLarge(size: number): string {
  return `the config file is ${(size / 2 ** 20).toFixed(1)} MiB, above the ${MAX_CONFIG_BYTES / 2 ** 20} MiB limit; list the nodes in a smaller file or use management.discover`;
}

function describeParserThrow(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/alias count/i.test(message)) {
    return `the config uses YAML aliases (*name) more than ${MAX_YAML_ALIASES} times; write the values out (for example "port: 8443" on every node) or use fewer aliases`;
  }
  return `the config cannot be read as YAML: ${message.split('\n')[0]}`;
}

/** The default status URL of a node: https on 443 at its address. */
export function defaultStatusUrl(address: string): string {
  return `https://${formatHost(address)}/api/client/v2/status`;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => `${formatPath([...issue.path, key])}: unknown key "${key}" (check its spelling and place against the configuration reference)`)
      .join('\n');
  }
  if (issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined) return `${where}: is required`;
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
    return `${where}: must be ${issue.expected === 'object' ? 'a mapping of keys' : `a ${issue.expected}`}`;
  }
  if (issue.code === 'invalid_value') return `${where}: ${issue.message}`;
  return `${where}: ${issue.message}`;
}

function resolvePaths(config: PartialConfig, baseDir: string): PartialConfig {
  const at = <T extends string | null | undefined>(path: T): T => (path ? resolve(baseDir, path) : path) as T;
  const out: PartialConfig = { ...config };
  if (config.probe) out.probe = { ...config.probe, tls: { ...config.probe.tls, ca_file: at(config.probe.tls.ca_file) ?? null } };
  if (config.management) {
    out.management = { ...config.management, password_file: at(config.management.password_file), token_file: at(config.management.token_file) };
  }
  if (config.http) out.http = { ...config.http, admin_token_file: at(config.http.admin_token_file) };
  if (config.nginx) out.nginx = { ...config.nginx, upstreams: config.nginx.upstreams.map((upstream) => ({ ...upstream, file: resolve(baseDir, upstream.file) })) };
  if (config.state) out.state = { ...config.state, file: at(config.state.file) ?? null };
  if (config.nodes) out.nodes = config.nodes.map((node) => ({ ...node, status_url: node.status_url ?? defaultStatusUrl(node.address) }));
  return out;
}
