#!/usr/bin/env node
// drainwatch-sim: runs a simulated Pexip fleet (Conferencing Nodes, Management Node, control API) from the command line.

import { parseArgs } from 'node:util';
import { Simulator } from './fleet.js';
import type { Addressing, SimulatorOptions } from './fleet.js';
import { startScenario } from './scenario.js';
import { testTlsPath } from './tls-fixtures.js';
import type { Scenario, ScenarioEvent } from './scenario.js';

const HELP = `drainwatch-sim: a simulated Pexip Infinity fleet on loopback

Usage: drainwatch-sim [options]

  --nodes N                  number of Conferencing Nodes (default 6; names px01, px02, ...)
  --tls                      serve HTTPS: the test CA in a checkout, else a throwaway CA made at start (its path is printed)
  --addressing MODE          "ports" (127.0.0.1, one port per node; default) or
                             "addresses" (one 127.1.X.Y per node, one shared port)
  --base-port P              first node port (ports) or the shared port (addresses); default free ports
  --base-address A           first node address in addresses mode (default 127.1.0.1)
  --scenario                 run the demo: drifting loads and a rolling upgrade, one node at a time
  --control-port P           control API port (default 0: a free port)
  --management-port P        Management Node port (default 0: a free port)
  --mgmt-user U              require HTTP Basic auth on the Management Node as U ...
  --mgmt-password-env VAR    ... with the password read from environment variable VAR
  --page-size N              Management Node default page size (default 20)
  --help                     show this help

Control API (JSON): GET /nodes, PATCH /nodes/{name} {"phase":"maintenance","reason":"..."},
POST /nodes, DELETE /nodes/{name}, POST /counters/reset, PATCH /management {"faults":{...}}.
Stop with Ctrl-C (SIGINT) or SIGTERM.
`;

const LIST_LIMIT = 20;

type Parsed = { options: SimulatorOptions; scenario: boolean };

function integer(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new Error(`${flag} must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}.`);
  }
  return Number(value);
}

function parse(argv: string[]): Parsed | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      nodes: { type: 'string' },
      tls: { type: 'boolean' },
      addressing: { type: 'string' },
      'base-port': { type: 'string' },
      'base-address': { type: 'string' },
      scenario: { type: 'boolean' },
      'control-port': { type: 'string' },
      'management-port': { type: 'string' },
      'mgmt-user': { type: 'string' },
      'mgmt-password-env': { type: 'string' },
      'page-size': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const addressing = values.addressing ?? 'ports';
  if (addressing !== 'ports' && addressing !== 'addresses') {
    throw new Error(`--addressing must be "ports" or "addresses"; got ${JSON.stringify(addressing)}.`);
  }
  const user = values['mgmt-user'];
  const passwordEnv = values['mgmt-password-env'];
  if ((user === undefined) !== (passwordEnv === undefined)) {
    throw new Error('--mgmt-user and --mgmt-password-env go together.');
  }
  let password: string | undefined;
  if (passwordEnv !== undefined) {
    password = process.env[passwordEnv];
    if (password === undefined || password === '') throw new Error(`environment variable ${passwordEnv} (from --mgmt-password-env) is not set.`);
  }
  const managementPort = integer('--management-port', values['management-port'], 0, 65_535);
  const pageSize = integer('--page-size', values['page-size'], 1, 10_000);
  const basePort = integer('--base-port', values['base-port'], 0, 65_535);
  const options: SimulatorOptions = {
    nodes: integer('--nodes', values.nodes, 0, 60_000) ?? 6,
    tls: values.tls ?? false,
    addressing: addressing as Addressing,
    control: { port: integer('--control-port', values['control-port'], 0, 65_535) ?? 0 },
    management: {
      ...(managementPort !== undefined ? { port: managementPort } : {}),
      ...(pageSize !== undefined ? { pageSize } : {}),
      ...(user !== undefined && password !== undefined ? { username: user, password } : {}),
    },
  };
  if (basePort !== undefined) options.basePort = basePort;
  if (values['base-address'] !== undefined) options.baseAddress = values['base-address'];
  return { options, scenario: values.scenario ?? false };
}

function stamp(date: Date): string {
  return date.toISOString().slice(11, 23);
}

async function main(): Promise<void> {
  let parsed: Parsed | 'help';
  try {
    parsed = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`drainwatch-sim: ${(error as Error).message}\nTry --help.\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return;
  }
  // Handlers go in first: a signal during a big start must still end the process cleanly.
  let sim: Simulator | undefined;
  let scenario: Scenario | undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping || sim === undefined) {
      // A second signal (or one before the fleet is up) means "now"; the OS frees the sockets.
      sim?.destroy();
      process.exit(stopping ? 130 : 0);
    }
    stopping = true;
    process.stdout.write(`\n${signal}: stopping\n`);
    scenario?.stop();
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const started = performance.now();
  sim = await Simulator.start(parsed.options);
  const nodes = sim.nodes();
  const out = (line: string): boolean => process.stdout.write(`${line}\n`);
  out(`drainwatch-sim: ${nodes.length} Conferencing Node(s) over ${sim.scheme.toUpperCase()} (${sim.addressing} addressing) in ${Math.round(performance.now() - started)} ms`);
  for (const node of nodes.slice(0, nodes.length > LIST_LIMIT ? 5 : LIST_LIMIT)) {
    out(`  ${node.name.padEnd(8)} ${node.phase.padEnd(11)} ${node.statusUrl}`);
  }
  if (nodes.length > LIST_LIMIT) {
    const last = nodes[nodes.length - 1];
    out(`  ... ${nodes.length - 5} more, up to ${last?.name} ${last?.statusUrl}`);
  }
  if (sim.scheme === 'https') out(`  TLS: verify with ${testTlsPath('ca.pem')} (servername node.sim.test off 127.0.0.1)`);
  out(`Management Node: ${sim.managementUrl ?? 'disabled'}/api/admin/status/v1/worker_vm/`);
  out(`Control API:     ${sim.controlUrl ?? 'disabled'}/nodes`);

  scenario = parsed.scenario ? startScenario(sim) : undefined;
  scenario?.on('event', (event: ScenarioEvent) => {
    out(`[${stamp(event.at)}] ${event.type === 'error' ? 'warning: ' : ''}${event.message}`);
  });
  if (scenario) out('Scenario: loads drift; a rolling upgrade starts in 10 s and takes one node at a time.');
}

main().catch((error: unknown) => {
  process.stderr.write(`drainwatch-sim: ${(error as Error).message}\n`);
  process.exit(1);
});
