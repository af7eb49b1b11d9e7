// The demo (`drainwatch --demo`, `npm start`): drainwatch against a built-in simulated fleet with a rolling upgrade.

import { stringify } from 'yaml';
import { loadConfigText } from '../config/load.js';
import { createLogger } from '../service/log.js';
import { Service } from '../service/service.js';
import { driveDemoPlans } from './demo-plan.js';
import { installSignals } from './signals.js';
import { Simulator, startScenario } from '../simulator/index.js';
import { simulatorManagementConfig } from '../sources/management/simulator-settings.js';
import type { Simulator as SimulatorType } from '../simulator/index.js';

export type DemoOptions = { nodes?: number; httpListen?: string; agentListen?: string; out?: NodeJS.WritableStream };

const time = () => new Date().toISOString().slice(11, 19);

/**
 * The config the demo runs with: nodes discovered from the simulated Management Node (which
 * also supplies load, calls and maintenance reasons), each probed every second.
 */
export function demoConfig(sim: SimulatorType, options: DemoOptions = {}): Record<string, unknown> {
  return {
    nodes: [],
    // Writes on: the demo's rolling upgrade is a maintenance plan that sets maintenance_mode on the simulated Management Node.
    management: { ...simulatorManagementConfig({ url: sim.managementUrl as string, scheme: sim.scheme, interval: '2s' }), maintenance_writes: true },
    probe: { interval: '1s', timeout: '800ms', rise: 2, fall: 2, max_age: '5s' },
    // The scenario upgrades a node about every 30 s; real fleets should keep the 2 minute default.
    policy: { maintenance_spacing: '20s', weight_smoothing: '10s' },
    http: { listen: options.httpListen ?? '127.0.0.1:9555' },
    haproxy: { agent: { listen: options.agentListen ?? '127.0.0.1:5555' } },
    log: { level: 'warn' },
  };
}

/** Runs until SIGINT/SIGTERM; prints verdict changes and simulator events as they happen. */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const out = options.out ?? process.stdout;
  const sim = await Simulator.start({ nodes: options.nodes ?? 6, control: true });
  const loaded = loadConfigText(stringify(demoConfig(sim, options)), { env: {} }, 'demo');
  if (!loaded.ok) throw new Error(`demo config invalid: ${loaded.errors.join('; ')}`);
  let service: Service;
  try {
    service = await Service.start(loaded, { logger: createLogger({ level: 'warn' }) });
  } catch (error) {
    sim.destroy();
    const code = (error as NodeJS.ErrnoException).code;
    out.write(`drainwatch demo: cannot start (${code === 'EADDRINUSE' ? 'port 9555 or 5555 is already in use — is another drainwatch running?' : (error as Error).message})\n`);
    return 1;
  }
  service.core.onTransition((t) => {
    out.write(`${time()}  ${t.name.padEnd(6)} ${t.from.padEnd(8)} → ${t.to.padEnd(8)} ${t.reason}\n`);
  });
  // The plan puts nodes into maintenance; the scenario ends their calls and upgrades each drained node.
  const scenario = startScenario(sim, { upgrade: 'external', callsEndMs: 12_000 });
  scenario.on('event', (event) => out.write(`${time()}  [simulator] ${event.message}\n`));
  const stopPlans = driveDemoPlans(service.maintenance, scenario, {
    nodes: () => sim.nodes().map((node) => node.name),
    startAfterMs: 10_000,
    reason: 'Software upgrade to 36.1',
    write: (line) => out.write(`${line}\n`),
  });

  const { http } = service.config;
  const agent = service.config.haproxy.agent?.listen.text;
  out.write(
    [
      `drainwatch demo: ${sim.nodes().length} simulated Conferencing Nodes; in about 10 s a maintenance plan starts a rolling upgrade, one node at a time.`,
      `  plan (JSON):       curl -s http://${http.listen.text}/api/v1/maintenance`,
      `  verdicts (JSON):   curl -s http://${http.listen.text}/api/v1/nodes`,
      `  dashboard:         http://${http.listen.text}/`,
      `  metrics:           curl -s http://${http.listen.text}/metrics`,
      agent ? `  HAProxy agent:     printf 'px01\\n' | nc ${agent.replace(':', ' ')}` : '',
      `  simulator control: ${sim.controlUrl}/nodes`,
      'Press Ctrl-C to stop.',
      '',
    ].filter(Boolean).join('\n') + '\n',
  );

  installSignals({
    close: async (graceMs) => {
      stopPlans();
      scenario.stop();
      await service.close(graceMs);
      await sim.close();
    },
  });
  return new Promise<number>(() => undefined);
}
