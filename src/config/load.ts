// Loads a YAML config file: parse, validate, fill defaults, check cross-field rules, resolve secrets.

import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigSchema } from './schema.js';
import { formatDuration } from './duration.js';
import { formatHost } from './address.js';
import type { z } from 'zod';
import type { Config } from './schema.js';

/** Secrets read from the environment or from files named in the config, never from its text. */
export type Secrets = {
  managementPassword?: string;
  managementToken?: string;
  adminToken?: string;
};

export type LoadedConfig = { config: Config; secrets: Secrets; source: string };
export type LoadResult = ({ ok: true } & LoadedConfig) | { ok: false; errors: string[]; source: string };

export type LoadOptions = {
  /** Environment to read secrets from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Directory relative paths in the config are resolved against (default: the file's directory). */
  baseDir?: string;
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
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, source: path, errors: [`cannot read config file ${path}: ${(error as Error).message}`] };
  }
  return loadConfigText(text, { baseDir: dirname(resolve(path)), ...options }, path);
}

/** Validates config text (YAML or JSON); `source` names it in messages. */
export function loadConfigText(text: string, options: LoadOptions = {}, source = '<config>'): LoadResult {
  const env = options.env ?? process.env;
  const baseDir = options.baseDir ?? process.cwd();
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return { ok: false, source, errors: document.errors.map((error) => `YAML syntax: ${error.message.split('\n')[0]}`) };
  }
  const raw: unknown = document.toJS() ?? {};
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, source, errors: parsed.error.issues.map((issue) => describeIssue(issue, raw)) };
  }
  const config = resolvePaths(parsed.data, baseDir);
  const errors: string[] = [];
  const secrets = checkRules(config, env, errors);
  if (errors.length > 0) return { ok: false, source, errors };
  return { ok: true, source, config, secrets };
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

function resolvePaths(config: Config, baseDir: string): Config {
  const at = <T extends string | null | undefined>(path: T): T => (path ? resolve(baseDir, path) : path) as T;
  return {
    ...config,
    probe: { ...config.probe, tls: { ...config.probe.tls, ca_file: at(config.probe.tls.ca_file) ?? null } },
    management: config.management && {
      ...config.management,
      password_file: at(config.management.password_file),
      token_file: at(config.management.token_file),
    },
    http: { ...config.http, admin_token_file: at(config.http.admin_token_file) },
    nginx: { upstreams: config.nginx.upstreams.map((upstream) => ({ ...upstream, file: resolve(baseDir, upstream.file) })) },
    state: { file: at(config.state.file) ?? null },
    nodes: config.nodes.map((node) => ({ ...node, status_url: node.status_url ?? defaultStatusUrl(node.address) })),
  };
}

function readSecret(
  kind: string,
  where: { envKey: string; env?: string | undefined; fileKey: string; file?: string | undefined },
  env: NodeJS.ProcessEnv,
  errors: string[],
): string | undefined {
  if (where.env && where.file) {
    errors.push(`${where.envKey}: set either ${where.envKey} or ${where.fileKey} for the ${kind}, not both`);
    return undefined;
  }
  if (where.env) {
    const value = env[where.env];
    if (value === undefined || value === '') {
      errors.push(`${where.envKey}: environment variable ${where.env} (the ${kind}) is not set or empty`);
      return undefined;
    }
    return value;
  }
  if (where.file) {
    try {
      const value = readFileSync(where.file, 'utf8').trim();
      if (value === '') errors.push(`${where.fileKey}: file ${where.file} (the ${kind}) is empty`);
      return value || undefined;
    } catch (error) {
      errors.push(`${where.fileKey}: cannot read ${where.file} (the ${kind}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return undefined;
}

function checkReadable(key: string, path: string, what: string, errors: string[]): void {
  try {
    accessSync(path, constants.R_OK);
    if (!statSync(path).isFile()) errors.push(`${key}: ${path} (${what}) is not a regular file`);
  } catch (error) {
    errors.push(`${key}: cannot read ${path} (${what}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function checkDirectory(key: string, path: string, errors: string[]): void {
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) errors.push(`${key}: ${dir} is not a directory`);
  } catch {
    errors.push(`${key}: directory ${dir} does not exist`);
  }
}

function checkRules(config: Config, env: NodeJS.ProcessEnv, errors: string[]): Secrets {
  const seen = new Map<string, number>();
  config.nodes.forEach((node, index) => {
    const first = seen.get(node.name);
    if (first !== undefined) errors.push(`nodes[${index}].name: "${node.name}" is already used by nodes[${first}]; node names must be unique`);
    else seen.set(node.name, index);
  });
  if (config.nodes.length === 0 && !config.management?.discover) {
    errors.push('nodes: no nodes are listed and management.discover is off, so there is nothing to watch');
  }

  const { probe } = config;
  if (probe.timeout >= probe.interval) {
    errors.push(`probe.timeout: must be shorter than probe.interval (${formatDuration(probe.timeout)} is not below ${formatDuration(probe.interval)})`);
  }
  if (probe.max_age <= probe.interval) {
    errors.push(`probe.max_age: must be longer than probe.interval (${formatDuration(probe.max_age)} is not above ${formatDuration(probe.interval)}), or every verdict would turn unknown between probes`);
  }
  if (probe.tls.ca_file) checkReadable('probe.tls.ca_file', probe.tls.ca_file, 'the CA bundle', errors);

  // Listen addresses and stats sockets are parsed (and their errors reported) by the schema.
  const backends = new Set<string>();
  config.haproxy.runtime_api.forEach((entry, index) => {
    const key = `${entry.socket.text} ${entry.backend}`;
    if (backends.has(key)) errors.push(`haproxy.runtime_api[${index}]: backend "${entry.backend}" on ${entry.socket.text} is listed twice`);
    backends.add(key);
  });
  const observed = new Set<string>();
  config.haproxy.observe.forEach((entry, index) => {
    const key = `${entry.socket.text} ${entry.backend}`;
    if (observed.has(key)) errors.push(`haproxy.observe[${index}]: backend "${entry.backend}" on ${entry.socket.text} is listed twice`);
    if (backends.has(key)) errors.push(`haproxy.observe[${index}]: backend "${entry.backend}" on ${entry.socket.text} is already read back as a haproxy.runtime_api entry (push mode); list it once`);
    observed.add(key);
  });

  const upstreams = new Set<string>();
  config.nginx.upstreams.forEach((upstream, index) => {
    if (upstreams.has(upstream.name)) errors.push(`nginx.upstreams[${index}].name: "${upstream.name}" is listed twice; upstream names must be unique`);
    upstreams.add(upstream.name);
    checkDirectory(`nginx.upstreams[${index}].file`, upstream.file, errors);
  });
  if (config.state.file) checkDirectory('state.file', config.state.file, errors);

  const secrets: Secrets = {};
  const management = config.management;
  if (management) {
    if (!management.status_url_template.includes('{address}')) {
      errors.push('management.status_url_template: must contain {address} (for example https://{address}/api/client/v2/status)');
    }
    const hasPassword = Boolean(management.password_env || management.password_file);
    const hasToken = Boolean(management.token_env || management.token_file);
    if (hasPassword && !management.username) errors.push('management.username: is required when a password is configured');
    if (management.username && !hasPassword) {
      errors.push('management.password_env: set password_env or password_file for the Management Node user (the password never goes in the config text)');
    }
    if (hasPassword && hasToken) errors.push('management: use either a user name and password or a token, not both');
    const password = readSecret('Management Node password', { envKey: 'management.password_env', env: management.password_env, fileKey: 'management.password_file', file: management.password_file }, env, errors);
    const token = readSecret('Management Node OAuth2 token', { envKey: 'management.token_env', env: management.token_env, fileKey: 'management.token_file', file: management.token_file }, env, errors);
    if (password !== undefined) secrets.managementPassword = password;
    if (token !== undefined) secrets.managementToken = token;
  }
  const adminToken = readSecret('admin API token', { envKey: 'http.admin_token_env', env: config.http.admin_token_env, fileKey: 'http.admin_token_file', file: config.http.admin_token_file }, env, errors);
  if (adminToken !== undefined) secrets.adminToken = adminToken;
  return secrets;
}
