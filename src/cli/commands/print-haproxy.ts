// `drainwatch print haproxy --config FILE`: the HAProxy `server` lines for the configured inventory.

import { parseArgs } from 'node:util';
import { formatHostPort } from '../../config/address.js';
import { loadConfigFile } from '../../config/load.js';
import type { Config } from '../../config/schema.js';

const USAGE = `Usage:
  drainwatch print haproxy --config FILE [--mode agent|push] [--cookie]

Prints one HAProxy "server" line per node of the static inventory, to paste between the
"# BEGIN drainwatch servers" / "# END drainwatch servers" markers of haproxy/haproxy.cfg.
  --mode agent   (default) each line carries agent-send "<node>\\n"; agent-check,
                 agent-addr and agent-port belong on the backend's default-server line
  --mode push    plain lines for a backend that drainwatch drives over the runtime API
                 (haproxy.runtime_api); such a backend must not have agent-check
  --cookie       add "cookie <node>" for cookie persistence (haproxy/haproxy-http.cfg)`;

export type HaproxyServerLinesOptions = { mode: 'agent' | 'push'; cookie: boolean; indent?: string };

/**
 * The `server` lines for a config's static nodes (node names are valid HAProxy server names:
 * the config only accepts letters, digits, ".", "_" and "-").
 *
 * @example haproxyServerLines(config, { mode: 'agent', cookie: false })
 * // ['    server px01 10.0.1.11:443 agent-send "px01\\n"', ...]
 */
export function haproxyServerLines(config: Config, options: HaproxyServerLinesOptions): string[] {
  const indent = options.indent ?? '    ';
  return config.nodes.map((node) => {
    const words = [`server ${node.name}`, formatHostPort(node.address, node.port)];
    if (options.mode === 'agent') words.push(`agent-send "${node.name}\\n"`);
    if (options.cookie) words.push(`cookie ${node.name}`);
    return `${indent}${words.join(' ')}`;
  });
}

/** A hint for the default-server line, from haproxy.agent.listen. */
function agentHint(config: Config): string {
  const listen = config.haproxy.agent?.listen;
  if (!listen) return '    # haproxy.agent is disabled in this config: use --mode push with haproxy.runtime_api';
  return `    # default-server ... agent-check agent-addr <address of drainwatch> agent-port ${listen.port} agent-inter 2s  (haproxy.agent.listen: ${listen.text})`;
}

export async function run(argv: string[]): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        mode: { type: 'string', default: 'agent' },
        cookie: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`drainwatch print: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'haproxy') {
    process.stderr.write(`drainwatch print: say what to print (only "haproxy" is known)\n${USAGE}\n`);
    return 2;
  }
  if (values.mode !== 'agent' && values.mode !== 'push') {
    process.stderr.write(`drainwatch print: --mode must be agent or push (got "${values.mode}")\n`);
    return 2;
  }
  if (!values.config) {
    process.stderr.write(`drainwatch print: --config FILE is required\n${USAGE}\n`);
    return 2;
  }
  // Offline: only the inventory matters, so the production secrets need not be present.
  const loaded = loadConfigFile(values.config, { secrets: false });
  if (!loaded.ok) {
    process.stderr.write(`drainwatch print: ${values.config} is not valid:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}\n`);
    return 2;
  }
  const { config } = loaded;
  const lines = [`    # BEGIN drainwatch servers (drainwatch print haproxy --mode ${values.mode}; ${config.nodes.length} nodes)`];
  if (values.mode === 'agent') lines.push(agentHint(config));
  if (config.management?.discover) {
    lines.push('    # management.discover is on: nodes found by discovery are not listed here, only the static ones');
  }
  lines.push(...haproxyServerLines(config, { mode: values.mode, cookie: values.cookie }), '    # END drainwatch servers');
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
