// Public surface of the simulator: a faithful fake Pexip fleet for tests, benchmarks and the demo.

export { Simulator } from './fleet.js';
export type { Addressing, SimulatorOptions, SimulatorTlsOptions } from './fleet.js';
export {
  DEFAULT_MAINTENANCE_REASON,
  DEFAULT_VERSION,
  NODE_CAPACITY,
  NODE_PHASES,
  parseFaults,
  parsePatch,
  parsePhase,
  parseSpec,
} from './sim-node.js';
export type { NodeFaults, NodeInfo, NodePatch, NodePhase, NodeSpec } from './sim-node.js';
export { HUGE_BODY_BYTES, STATUS_PATH, TRICKLE_INTERVAL_MS } from './node-http.js';
export {
  CONFIG_WORKER_VM_PATH,
  STATUS_WORKER_VM_PATH,
  configurationObject,
  paginate,
  pexipTimestamp,
  statusObject,
} from './management.js';
export type { ManagementFaults, ManagementOptions } from './management.js';
export { parseWriteBody } from './management-writes.js';
export type { MaintenanceChange, ManagementWrite } from './management-writes.js';
export { nodeView } from './control-api.js';
export type { NodeView } from './control-api.js';
export { Scenario, startScenario } from './scenario.js';
export type { ScenarioEvent, ScenarioOptions } from './scenario.js';
export { testTls, testTlsPath } from './tls-fixtures.js';
export type { TestTls } from './tls-fixtures.js';
export { SimulatorError } from './errors.js';
export type { SimulatorErrorCode } from './errors.js';
export { isLoopback } from './addressing.js';
