// Test helpers: a simulated fleet with a Management Node, and a drainwatch Service pointed at it.

import { onTestFinished } from 'vitest';
import { Simulator } from '../../../src/simulator/index.js';
import { simulatorManagementConfig } from '../../../src/sources/management/simulator-settings.js';
import { startTestService } from '../../helpers/service.js';
import type { SimulatorOptions } from '../../../src/simulator/index.js';
import type { Logger } from '../../../src/core/logger.js';
import type { TestService } from '../../helpers/service.js';

export const USER = 'admin';
export const PASSWORD = 'pw-Sup3r-secret';
export const PASSWORD_ENV = 'DW_TEST_MGMT_PASSWORD';
/** The management interval the integration tests use (production: 15 s or more). */
export const INTERVAL_MS = 300;

/** Starts a simulator with an authenticated Management Node; closed when the test ends. */
export async function startFleet(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await Simulator.start({ nodes: 3, ...options, management: { username: USER, password: PASSWORD, ...(options.management || {}) } });
  onTestFinished(() => sim.close());
  return sim;
}

export type LogEntry = { level: 'debug' | 'info' | 'warn' | 'error'; fields: Record<string, unknown>; message: string };

/** A logger that keeps every entry (for asserting on warnings and errors). */
export function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (fields: object, message = '') => {
    entries.push({ level, fields: fields as Record<string, unknown>, message });
  };
  const logger: Logger & { entries: LogEntry[] } = {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

export type ServiceAgainst = {
  discover?: boolean;
  /** Static nodes: true = every simulator node; or explicit entries. */
  statics?: boolean | Array<Record<string, unknown>>;
  management?: Record<string, unknown>;
  policy?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  password?: string;
  logger?: Logger;
};

/** Starts drainwatch against the simulator (fast probes, INTERVAL_MS sweeps); closed when the test ends. */
export async function startServiceAgainst(sim: Simulator, options: ServiceAgainst = {}): Promise<TestService> {
  const statics = options.statics === true || (options.statics === undefined && !options.discover)
    ? sim.nodes().map((node) => ({ name: node.name, address: node.address, port: node.port, status_url: node.statusUrl }))
    : options.statics || [];
  const test = await startTestService(
    {
      nodes: statics,
      // fall 3: a probe timing out on a loaded CI machine must not flap a node.
      probe: { interval: '150ms', timeout: '120ms', max_age: '3s', rise: 1, fall: 3, jitter: 0 },
      management: {
        ...simulatorManagementConfig({
          url: sim.managementUrl as string,
          scheme: sim.scheme,
          discover: options.discover ?? false,
          interval: `${INTERVAL_MS}ms`,
          username: USER,
          passwordEnv: PASSWORD_ENV,
        }),
        ...options.management,
      },
      policy: { weight_smoothing: '0s', ...options.policy },
      ...options.extra,
    },
    { env: { ...process.env, [PASSWORD_ENV]: options.password ?? PASSWORD }, ...(options.logger ? { logger: options.logger } : {}) },
  );
  onTestFinished(() => test.close());
  return test;
}

export type NodeJson = { name: string; state: string; weight: number; load: number | null; calls: number | null; drained_since: string | null; reason: string; maintenance: boolean; source: string; address: string; port: number };

export async function nodeJson(url: string, name: string): Promise<NodeJson | null> {
  const response = await fetch(`${url}/api/v1/nodes/${name}`);
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  return (await response.json()) as NodeJson;
}

export async function nodeNames(url: string): Promise<string[]> {
  const body = (await (await fetch(`${url}/api/v1/nodes`)).json()) as NodeJson[] | { nodes: NodeJson[] };
  const list = Array.isArray(body) ? body : body.nodes;
  return list.map((node) => node.name).sort();
}

/** The value of one labelled counter from the Metrics registry. */
export async function counterValue(counter: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> }, labels: Record<string, string>): Promise<number> {
  const { values } = await counter.get();
  return values.filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted)).reduce((sum, value) => sum + value.value, 0);
}
