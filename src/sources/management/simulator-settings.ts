// The drainwatch-side settings for the simulated Management Node (demo and tests).

import { SIMULATOR_PORT_FIELD } from './wire.js';

export type SimulatorManagementOptions = {
  /** The simulator's Management Node base URL (`sim.managementUrl`). */
  url: string;
  /** The simulator's node scheme (`sim.scheme`). */
  scheme: 'http' | 'https';
  /** Inventory from the Management Node (default true). */
  discover?: boolean;
  /** Sweep interval as written in the config (default "2s": the demo wants visible movement; production uses 15s+). */
  interval?: string;
  username?: string;
  /** Environment variable holding the password (with `username`). */
  passwordEnv?: string;
  pageSize?: number;
};

/**
 * The `management` config section (YAML shape, before validation) for a simulated Management Node:
 * discovery with the simulator-only `x_sim_port` field as each node's port, and status URLs built
 * from `{address}:{port}`. Used by the demo and the tests.
 *
 * @example
 * const sim = await Simulator.start({ nodes: 4 });
 * const config = { nodes: [], management: simulatorManagementConfig({ url: sim.managementUrl!, scheme: sim.scheme }) };
 */
export function simulatorManagementConfig(options: SimulatorManagementOptions): Record<string, unknown> {
  return {
    url: options.url,
    interval: options.interval ?? '2s',
    timeout: '1s',
    discover: options.discover ?? true,
    port_field: SIMULATOR_PORT_FIELD,
    status_url_template: `${options.scheme}://{address}:{port}/api/client/v2/status`,
    ...(options.pageSize !== undefined ? { page_size: options.pageSize } : {}),
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.passwordEnv !== undefined ? { password_env: options.passwordEnv } : {}),
  };
}
