// The configuration schema (DESIGN §6): snake_case keys, defaults, durations in ms, unknown keys rejected.

import { isIP } from 'node:net';
import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.js';
import { checkNodeAddress, parseListenAddress, parseRuntimeSocket } from './address.js';
import { parseCidr } from './cidr.js';
import { NODE_NAME_PATTERN, NODE_NAME_RULE } from '../core/names.js';
import type { ConfiguredListen, ConfiguredSocket } from './address.js';

/** A duration written as "500ms", "2s", "1m"; parsed to milliseconds. */
const duration = (bounds: { min?: number; max?: number } = {}) =>
  z
    .string({ error: 'must be a duration such as 500ms, 2s or 1m (a string with a unit)' })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration; write it like 500ms, 2s, 1m or 1h` });
        return z.NEVER;
      }
      if (bounds.min !== undefined && ms < bounds.min) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${formatDuration(bounds.min)} (got ${text})` });
        return z.NEVER;
      }
      if (bounds.max !== undefined && ms > bounds.max) {
        ctx.addIssue({ code: 'custom', message: `must be at most ${formatDuration(bounds.max)} (got ${text})` });
        return z.NEVER;
      }
      return ms;
    });

const int = (min: number, max: number) =>
  z
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be a whole number from ${min} to ${max}` })
    .max(max, { error: `must be a whole number from ${min} to ${max}` });

const fraction = z
  .number({ error: 'must be a number from 0 to 1' })
  .min(0, { error: 'must be a number from 0 to 1' })
  .max(1, { error: 'must be a number from 0 to 1' });

const nonEmpty = (what: string) =>
  z.string({ error: `must be ${what} (a non-empty string)` }).min(1, { error: `must be ${what} (a non-empty string)` });

const url = (what: string) =>
  z.string({ error: `must be ${what}` }).superRefine((text, ctx) => {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not ${what}` });
      return;
    }
    // Userinfo would be shown by the unauthenticated API or silently dropped; the text may hold a password, so it is not echoed.
    if (parsed.username || parsed.password) {
      ctx.addIssue({ code: 'custom', message: `must not contain a user name or password ("user:password@"); credentials go in username and password_env / password_file` });
      return;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `"${text}" is not ${what}` });
  });

/** An environment variable *name*; what was written is not echoed, since a pasted secret is the usual mistake. */
const envName = z.string({ error: 'must be the name of an environment variable (a string)' }).superRefine((text, ctx) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,254}$/.test(text)) {
    ctx.addIssue({ code: 'custom', message: 'must be the NAME of an environment variable (letters, digits and "_", not starting with a digit), not its value; what is written there is not shown, in case it is a secret' });
  }
});

/** A listen address written as host:port; parsed here once, so nothing downstream re-parses it. */
const listen = (fallback: string) =>
  z
    .string({ error: 'must be a listen address of the form host:port (a string)' })
    .transform((text, ctx): ConfiguredListen => {
      const parsed = parseListenAddress(text);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: parsed });
        return z.NEVER;
      }
      return { ...parsed, text };
    })
    .prefault(fallback);

/** An HAProxy stats socket: a unix socket path or host:port, parsed here once. */
const runtimeSocket = nonEmpty('a stats socket: a unix socket path or host:port').transform((text, ctx): ConfiguredSocket => {
  const parsed = parseRuntimeSocket(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return { ...parsed, text };
});

/** Peers that may connect to a listener, as CIDRs (a bare address is one host); empty: anyone. */
const allowList = z
  .array(
    z.string({ error: 'must be a CIDR such as 10.0.0.0/8 (a string)' }).superRefine((text, ctx) => {
      const parsed = parseCidr(text);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
    }),
    { error: 'must be a list of CIDRs, e.g. ["10.0.0.0/8", "127.0.0.1"] (empty: any peer)' },
  )
  .default([]);

const command = z
  .array(nonEmpty('a command-line argument'), { error: 'must be a command as an array of arguments, e.g. ["nginx", "-s", "reload"]' })
  .min(1, { error: 'must name at least the program to run' });

/** Why a node address is not a bare host name or IP (a port, a path or a scheme are written elsewhere), or null. */
export function nodeAddressProblem(text: string): string | null {
  if (isIP(text) !== 0) return null;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return `"${text}" is a URL; write only the host name or IP (the status URL goes in status_url)`;
  if (text.includes('/')) return `"${text}" holds a path; write only the host name or IP (the status URL goes in status_url)`;
  if (/^\[.*\]:\d*$/.test(text) || /^[^:]+:\d*$/.test(text)) return `"${text}" holds a port; write only the host name or IP and put the port in port:`;
  if (/^\[.*\]$/.test(text)) return `"${text}": write an IPv6 address without brackets`;
  if (!/^[A-Za-z0-9._-]+$/.test(text)) return `"${text}" is neither an IP address nor a host name (letters, digits, ".", "_" and "-")`;
  // RFC 1123 labels, and no dotted numbers that are not IPv4 (999.1.1.1, 1.2.3.4.5), which nginx -t rejects.
  return checkNodeAddress(text);
}

export const NodeSchema = z.strictObject({
  name: nonEmpty('the node name').regex(NODE_NAME_PATTERN, { error: `must ${NODE_NAME_RULE}` }),
  address: nonEmpty('the address the load balancer sends traffic to').superRefine((text, ctx) => {
    const problem = nodeAddressProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  port: int(1, 65535).default(443),
  status_url: url('an http(s) URL for the node status endpoint').optional(),
});

export const TlsSchema = z.strictObject({
  ca_file: z.string().nullable().default(null),
  insecure_skip_verify: z.boolean({ error: 'must be true or false' }).default(false),
  servername: z.string().nullable().default(null),
});

export const ProbeSchema = z.strictObject({
  interval: duration({ min: 50 }).default(1000),
  timeout: duration({ min: 10 }).default(800),
  jitter: fraction.default(0.1),
  rise: int(1, 100).default(2),
  fall: int(1, 100).default(2),
  max_age: duration({ min: 100 }).default(5000),
  concurrency: int(1, 100_000).default(256),
  body_limit: int(0, 16 * 1024 * 1024).default(64 * 1024),
  tls: TlsSchema.prefault({}),
});

export const ManagementSchema = z.strictObject({
  url: url('the Management Node base URL, such as https://manager.example.com'),
  username: nonEmpty('the Management Node user name').optional(),
  password_env: envName.optional(),
  password_file: nonEmpty('a file path').optional(),
  token_env: envName.optional(),
  token_file: nonEmpty('a file path').optional(),
  // The floor is low for tests and the simulator; production should poll every 15 s or more (Pexip's advice).
  interval: duration({ min: 100 }).default(15_000),
  timeout: duration({ min: 100 }).default(5000),
  page_size: int(1, 1000).default(100),
  max_pages: int(1, 10_000).default(100),
  discover: z.boolean({ error: 'must be true or false' }).default(false),
  node_port: int(1, 65535).default(443),
  status_url_template: z.string().default('https://{address}/api/client/v2/status'),
  /** Configuration-object field holding a discovered node's traffic port (the simulator's `x_sim_port`); null: node_port. */
  port_field: nonEmpty('a field name of the configuration worker_vm object').nullable().default(null),
  /** true: maintenance plans may set maintenance_mode on worker_vm configuration records; false: drainwatch never writes. */
  maintenance_writes: z.boolean({ error: 'must be true or false' }).default(false),
});

export const PolicySchema = z.strictObject({
  min_weight: int(1, 100).default(1),
  weight_step: int(1, 100).default(5),
  degraded_load: int(0, 100).default(90),
  guard_down_fraction: fraction.default(0.5),
  guard_min_nodes: int(1, 100_000).default(3),
  weight_smoothing: duration().default(30_000),
  maintenance_spacing: duration().default(120_000),
  min_ready_capacity: fraction.default(0.5),
});

const backendName = nonEmpty('the HAProxy backend name').regex(/^[A-Za-z0-9._:-]+$/, {
  error: 'must be an HAProxy backend name (letters, digits, ".", "_", ":" and "-")',
});

export const HaproxySchema = z.strictObject({
  agent: z
    .strictObject({
      listen: listen('127.0.0.1:5555'),
      max_connections: int(1, 1_000_000).default(4096),
      idle_timeout: duration({ min: 10 }).default(5000),
      max_line_bytes: int(16, 65_536).default(256),
      allow: allowList,
      // HAProxy checks arrive one connection per server per interval; 512 from one address leaves headroom.
      max_connections_per_peer: int(1, 1_000_000).default(512),
      /** HAProxy's agent-inter: a node not asked for 3 × this is `unreachable` in the agent evidence. */
      expected_interval: duration({ min: 100 }).default(2000),
    })
    .nullable()
    .prefault({}),
  runtime_api: z
    .array(
      z.strictObject({
        socket: runtimeSocket,
        backend: backendName,
        resync_interval: duration({ min: 1000 }).default(30_000),
        timeout: duration({ min: 10 }).default(2000),
        /** How often `show servers state` reads the backend back (a divergence is repaired at once). */
        read_interval: duration({ min: 100 }).default(2000),
      }),
    )
    .default([]),
  /** Read-only runtime API sockets of backends steered by the agent: read back and reported, never written. */
  observe: z
    .array(
      z.strictObject({
        socket: runtimeSocket,
        backend: backendName,
        interval: duration({ min: 100 }).default(2000),
        timeout: duration({ min: 10 }).default(2000),
      }),
    )
    .default([]),
});

export const HttpSchema = z.strictObject({
  listen: listen('127.0.0.1:9555'),
  admin_token_env: envName.optional(),
  admin_token_file: nonEmpty('a file path').optional(),
  body_limit: int(1, 16 * 1024 * 1024).default(64 * 1024),
  allow: allowList,
  max_connections: int(1, 1_000_000).default(1024),
  max_connections_per_peer: int(1, 1_000_000).default(128),
  headers_timeout: duration({ min: 100 }).default(10_000),
  request_timeout: duration({ min: 100 }).default(30_000),
  max_event_streams: int(1, 100_000).default(200),
  max_event_streams_per_peer: int(1, 100_000).default(16),
});

/** xDS over gRPC (absent: off). Durations in ms. */
export const EnvoyGrpcSchema = z.strictObject({
  listen: listen('127.0.0.1:18000'),
  /** Serve a Listener, RouteConfiguration and Cluster too, so proxyless gRPC clients can dial xds:///<listener>. */
  proxyless: z.strictObject({ listener: nonEmpty('the listener name gRPC clients dial as xds:///NAME') }).nullable().default(null),
  /** endpoint: weights on endpoints (Envoy); locality_per_node: one locality per node carrying its weight (gRPC round robin). */
  weights: z.enum(['endpoint', 'locality_per_node'], { error: 'must be "endpoint" or "locality_per_node"' }).default('endpoint'),
  keepalive_time: duration({ min: 1000 }).default(30_000),
  keepalive_timeout: duration({ min: 100 }).default(10_000),
  /** A client that takes no response for this long is dropped. */
  stall_timeout: duration({ min: 100 }).default(30_000),
  max_streams: int(1, 100_000).default(1000),
  max_streams_per_connection: int(1, 10_000).default(100),
});

export const EnvoySchema = z.strictObject({
  cluster_name: nonEmpty('the Envoy cluster name').default('pexip'),
  /** The refresh_delay Envoy's REST EDS config source polls with (a client silent for 6 × this is `unreachable`). */
  refresh_delay: duration({ min: 10 }).default(1000),
  /** The locality of every EDS endpoint group (gRPC clients reject groups without one). */
  locality: z
    .strictObject({ region: nonEmpty('the locality region').default('drainwatch'), zone: z.string().default(''), sub_zone: z.string().default('') })
    .prefault({}),
  grpc: EnvoyGrpcSchema.nullable().default(null),
});

export const NginxUpstreamSchema = z.strictObject({
  name: nonEmpty('the upstream name').regex(/^[A-Za-z0-9_-]+$/, { error: 'must contain only letters, digits, "_" and "-"' }),
  file: nonEmpty('the path of the include file to write'),
  test_command: command.default(['nginx', '-t']),
  reload_command: command.default(['nginx', '-s', 'reload']),
  settle: duration().default(2000),
  min_reload_interval: duration().default(5000),
  command_timeout: duration({ min: 100 }).default(30_000),
  /** How often the file on disk is checked against what drainwatch wrote (rewritten when it drifted). */
  read_interval: duration({ min: 100 }).default(2000),
});

export const StateSchema = z.strictObject({
  file: z.string().nullable().default(null),
});

export const LogSchema = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
    error: 'must be one of trace, debug, info, warn, error, fatal, silent',
  }).default('info'),
  format: z.enum(['json', 'text'], { error: 'must be json (one JSON object a line, for log shippers) or text (for a terminal)' }).default('json'),
});

export const ConfigSchema = z.strictObject({
  nodes: z.array(NodeSchema, { error: 'must be a list of nodes' }).default([]),
  probe: ProbeSchema.prefault({}),
  management: ManagementSchema.nullable().default(null),
  policy: PolicySchema.prefault({}),
  haproxy: HaproxySchema.prefault({}),
  http: HttpSchema.prefault({}),
  envoy: EnvoySchema.prefault({}),
  nginx: z.strictObject({ upstreams: z.array(NginxUpstreamSchema).default([]) }).prefault({}),
  state: StateSchema.prefault({}),
  log: LogSchema.prefault({}),
});

/** The validated configuration: snake_case keys as written, durations in milliseconds. */
export type Config = z.output<typeof ConfigSchema>;
export type NginxUpstreamConfig = z.output<typeof NginxUpstreamSchema>;
export type EnvoyGrpcConfig = z.output<typeof EnvoyGrpcSchema>;
