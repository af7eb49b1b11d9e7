// Cross-field and on-disk rules of a config, run on whatever sections parsed; secrets are read here.

import { X509Certificate } from 'node:crypto';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatDuration } from './duration.js';
import { findOnPath, isExecutableFile } from './executables.js';
import type { PartialConfig } from './sections.js';

/** Secrets read from the environment or from files named in the config, never from its text. */
export type Secrets = {
  managementPassword?: string;
  managementToken?: string;
  adminToken?: string;
};

export type RuleOptions = {
  /** Environment for secrets and for finding commands on PATH. */
  env: NodeJS.ProcessEnv;
  /** false: secrets are neither read nor required (offline commands such as `print haproxy`). */
  secrets: boolean;
  /** Index in the file of each parsed node (bad nodes were left out). */
  nodeIndex?: readonly number[];
  /** How many nodes the file lists, good or bad. */
  nodesInFile?: number;
};

/**
 * Checks every rule whose inputs parsed, pushing one plain sentence per problem to `errors`,
 * and returns the secrets it could read.
 *
 * @example
 * const errors: string[] = [];
 * const secrets = checkRules(config, { env: process.env, secrets: true }, errors);
 */
export function checkRules(config: PartialConfig, options: RuleOptions, errors: string[]): Secrets {
  const { env } = options;
  if (config.nodes) {
    const at = (index: number) => options.nodeIndex?.[index] ?? index;
    const seen = new Map<string, number>();
    config.nodes.forEach((node, index) => {
      const first = seen.get(node.name);
      if (first !== undefined) errors.push(`nodes[${at(index)}].name: "${node.name}" is already used by nodes[${at(first)}]; node names must be unique`);
      else seen.set(node.name, index);
    });
    // Only when the file lists no node at all: bad nodes were reported already.
    const written = options.nodesInFile ?? config.nodes.length;
    if (written === 0 && config.management !== undefined && !config.management?.discover) {
      errors.push('nodes: no nodes are listed and management.discover is off, so there is nothing to watch');
    }
  }

  const { probe } = config;
  if (probe) {
    if (probe.timeout >= probe.interval) {
      errors.push(`probe.timeout: must be shorter than probe.interval (${formatDuration(probe.timeout)} is not below ${formatDuration(probe.interval)})`);
    }
    if (probe.max_age <= probe.interval) {
      errors.push(`probe.max_age: must be longer than probe.interval (${formatDuration(probe.max_age)} is not above ${formatDuration(probe.interval)}), or every verdict would turn unknown between probes`);
    }
    if (probe.tls.ca_file) checkCaBundle(probe.tls.ca_file, errors);
  }

  // Listen addresses and stats sockets are parsed (and their errors reported) by the schema.
  if (config.haproxy) {
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
  }

  if (config.nginx) {
    const upstreams = new Set<string>();
    config.nginx.upstreams.forEach((upstream, index) => {
      if (upstreams.has(upstream.name)) errors.push(`nginx.upstreams[${index}].name: "${upstream.name}" is listed twice; upstream names must be unique`);
      upstreams.add(upstream.name);
      checkDirectory(`nginx.upstreams[${index}].file`, upstream.file, errors);
      checkCommand(`nginx.upstreams[${index}].test_command`, upstream.test_command, env, errors);
      checkCommand(`nginx.upstreams[${index}].reload_command`, upstream.reload_command, env, errors);
    });
  }
  if (config.state?.file) checkDirectory('state.file', config.state.file, errors);

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
    if (options.secrets) {
      const password = readSecret('Management Node password', { envKey: 'management.password_env', env: management.password_env, fileKey: 'management.password_file', file: management.password_file }, env, errors);
      const token = readSecret('Management Node OAuth2 token', { envKey: 'management.token_env', env: management.token_env, fileKey: 'management.token_file', file: management.token_file }, env, errors);
      if (password !== undefined) secrets.managementPassword = password;
      if (token !== undefined) secrets.managementToken = token;
    }
  }
  if (config.http && options.secrets) {
    const adminToken = readSecret('admin API token', { envKey: 'http.admin_token_env', env: config.http.admin_token_env, fileKey: 'http.admin_token_file', file: config.http.admin_token_file }, env, errors);
    if (adminToken !== undefined) secrets.adminToken = adminToken;
  }
  return secrets;
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

/** The CA bundle must be PEM certificates: garbage would be accepted by TLS setup and turn every HTTPS node down. */
function checkCaBundle(path: string, errors: string[]): void {
  const before = errors.length;
  checkReadable('probe.tls.ca_file', path, 'the CA bundle', errors);
  if (errors.length > before) return;
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (error) {
    errors.push(`probe.tls.ca_file: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return;
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    errors.push(`probe.tls.ca_file: ${path} holds no PEM certificate ("-----BEGIN CERTIFICATE-----" blocks); convert a DER file with: openssl x509 -inform der -in FILE -out FILE.pem`);
    return;
  }
  blocks.forEach((block, index) => {
    try {
      new X509Certificate(block);
    } catch {
      errors.push(`probe.tls.ca_file: certificate ${index + 1} of ${blocks.length} in ${path} is not a valid certificate`);
    }
  });
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

/** The program of a command must exist and be executable: a path as written, a bare name on PATH. */
function checkCommand(key: string, argv: readonly string[], env: NodeJS.ProcessEnv, errors: string[]): void {
  const program = argv[0];
  if (program === undefined) return;
  if (program.includes('/')) {
    if (!isExecutableFile(program)) errors.push(`${key}: ${program} does not exist or is not an executable file`);
    return;
  }
  // A test's env often carries only secrets: PATH then is the process's own.
  const path = env.PATH ?? process.env.PATH ?? '';
  if (findOnPath(program, path) === null) errors.push(`${key}: "${program}" is not an executable on PATH (${path || 'PATH is empty'}); install it or write its absolute path`);
}
