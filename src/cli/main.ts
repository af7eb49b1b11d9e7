#!/usr/bin/env node
// The `drainwatch` command: run the service, check a config, run the demo, or a helper subcommand.

import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.js';
import { packageVersion } from '../config/version.js';
import { createReloadableLogger } from '../service/log.js';
import { Service } from '../service/service.js';
import { SUBCOMMANDS } from './commands/index.js';
import { installSignals } from './signals.js';

// Every way to call drainwatch, one line each; `drainwatch <command> --help` has the details.
const USAGE = `Usage:
  drainwatch --config FILE                     run the service
  drainwatch --check-config FILE               validate a config, list every problem (exit 0 valid, 2 invalid)
  drainwatch --demo                            run against a built-in simulated fleet (what npm start does)
  drainwatch --version                         print the version
  drainwatch --help                            this text
  drainwatch print haproxy --config FILE       print HAProxy server lines for the inventory (no secrets needed)
  drainwatch wait-drained NODE [--config FILE] wait until a draining node has no calls left (exit 0/1/3/4)
  drainwatch maintenance start|status|cancel|exit --config FILE ...   maintenance plans, one node at a time

  drainwatch <command> --help                  the options of one command
  In a source checkout use npx drainwatch ... (or node dist/cli/main.js ...).

Signals: SIGTERM/SIGINT stop gracefully; SIGHUP reloads the config file.`;

async function runService(configPath: string): Promise<number> {
  const loaded = loadConfigFile(configPath);
  if (!loaded.ok) {
    process.stderr.write(`drainwatch: ${configPath} is not valid:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}\n`);
    return 2;
  }
  const { logger, setLevel } = createReloadableLogger({ level: loaded.config.log.level, format: loaded.config.log.format });
  let service: Service;
  try {
    service = await Service.start(loaded, { logger });
  } catch (error) {
    logger.error({ err: error }, 'drainwatch could not start');
    return 1;
  }
  // reloadFromFile never rejects: a broken file or a failing step is logged and counted by the service.
  // A SIGHUP must never end the process: anything thrown is logged and the running config stays.
  installSignals(service, async () => {
    try {
      await service.reloadFromFile(configPath);
      setLevel(service.config.log.level); // log.level applies on reload too
    } catch (error) {
      logger.error({ err: error, source: configPath }, 'config reload failed; keeping the running config');
    }
  });
  return new Promise<number>(() => undefined); // runs until a signal ends the process
}

export async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first && !first.startsWith('-')) {
    const load = SUBCOMMANDS[first];
    if (!load) {
      process.stderr.write(`drainwatch: unknown command "${first}"\n${USAGE}\n`);
      return 2;
    }
    return (await load()).run(argv.slice(1));
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        'check-config': { type: 'string' },
        demo: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`drainwatch: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    // The same version as drainwatch_build_info on /metrics.
    process.stdout.write(`drainwatch ${packageVersion()} (Node.js ${process.version})\n`);
    return 0;
  }
  if (values['check-config']) {
    const path = values['check-config'];
    const result = loadConfigFile(path);
    if (result.ok) {
      process.stdout.write(`${path}: valid (${result.config.nodes.length} static node(s))\n`);
      return 0;
    }
    process.stderr.write(`${path}: ${result.errors.length} problem(s):\n${result.errors.map((e) => `  - ${e}`).join('\n')}\n`);
    return 2;
  }
  if (values.demo) {
    const { runDemo } = await import('./demo.js');
    return runDemo();
  }
  if (values.config) return runService(values.config);
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`drainwatch: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
