// Management Node poller: one paginated sweep per interval (back-off after failures), handed on as observations and discovered nodes.

import { DrainwatchError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { ManagementClient } from './client.js';
import { discoverNodes, uniqueByName } from './discovery.js';
import { CONFIGURATION_WORKER_VM_PATH, STATUS_WORKER_VM_PATH, observationFrom, parseConfigurationPage, parseStatusPage } from './wire.js';
import type { DrainwatchErrorCode } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ManagementObservation, NodeSpec } from '../../core/verdict.js';
import type { ManagementClientOptions } from './client.js';
import type { DiscoveryResult } from './discovery.js';
import type { WorkerVmStatus } from './wire.js';

/**
 * Delay before the next sweep: the interval, doubled per consecutive failure, capped at
 * 8 intervals (and never above 5 minutes unless the interval itself is longer).
 *
 * @example backoffDelay(15_000, 2) // 60_000
 */
export function backoffDelay(intervalMs: number, failures: number): number {
  if (failures <= 0) return intervalMs;
  const cap = Math.max(intervalMs, Math.min(intervalMs * 8, 300_000));
  return Math.min(intervalMs * 2 ** Math.min(failures, 16), cap);
}

/** What one successful sweep produced. */
export type SweepResult = {
  at: number;
  statuses: WorkerVmStatus[];
  /** The Management Node's view of each listed node, by name. */
  observations: Map<string, ManagementObservation>;
  /** max_media_tokens by node name (capacity for the ready-capacity warning), where known. */
  capacity: Map<string, number>;
  /** Discovered inventory (discover on), or null (discover off, or kept from the previous sweep). */
  discovered: NodeSpec[] | null;
  skipped: DiscoveryResult['skipped'];
  pages: number;
};

/** Result label of a sweep, bounded for metrics: ok, auth, http, malformed, network. */
export type SweepOutcome = 'ok' | 'auth' | 'http' | 'malformed' | 'network';

export function outcomeOf(error: unknown): SweepOutcome {
  const labels: Partial<Record<DrainwatchErrorCode, SweepOutcome>> = {
    DW_MANAGEMENT_AUTH: 'auth',
    DW_MANAGEMENT_HTTP: 'http',
    DW_MANAGEMENT_MALFORMED: 'malformed',
    DW_MANAGEMENT_NETWORK: 'network',
  };
  const code = (error as { code?: DrainwatchErrorCode } | null)?.code;
  return (code && labels[code]) || 'network';
}

export type ManagementPollerOptions = ManagementClientOptions & {
  intervalMs: number;
  discover: boolean;
  nodePort: number;
  statusUrlTemplate: string;
  /** Configuration-object field with the node's port (see SIMULATOR_PORT_FIELD), or null. */
  portField: string | null;
  clock?: () => number;
  logger?: Logger;
  /** Random source for the ±10% jitter of the sweep interval (tests pass a constant). */
  random?: () => number;
  /** After each good sweep. */
  onSweep(result: SweepResult): void;
  /** After each failed sweep: the error and the last good observations, marked stale. */
  onFailure(error: DrainwatchError, stale: Map<string, ManagementObservation>, failures: number): void;
};

export type PollerStatus = {
  lastSuccessAt: number | null;
  lastError: { code: string; message: string; at: number } | null;
  failures: number;
  stale: boolean;
  sweeps: number;
};

/**
 * Sweeps the Management Node every interval (back-off after failures) and hands the results on.
 * A failed sweep changes nothing: the last good data is handed back marked stale.
 *
 * @example
 * const poller = new ManagementPoller({ ...clientOptions, intervalMs: 15_000, discover: false, nodePort: 443,
 *   statusUrlTemplate, portField: null, onSweep: (r) => apply(r), onFailure: (e) => log(e) });
 * poller.start();
 * await poller.close();
 */
export class ManagementPoller {
  private readonly client: ManagementClient;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly random: () => number;
  private last = new Map<string, ManagementObservation>();
  private lastDiscovered: NodeSpec[] = [];
  /** Names already warned about as listed twice (once per name, not every sweep). */
  private readonly warnedDuplicates = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  private state: PollerStatus = { lastSuccessAt: null, lastError: null, failures: 0, stale: false, sweeps: 0 };

  constructor(private readonly options: ManagementPollerOptions) {
    this.client = new ManagementClient(options);
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
  }

  /** Sweeps at once, then every interval. */
  start(): void {
    if (this.stopped || this.timer || this.running) return;
    this.schedule(0);
  }

  status(): PollerStatus {
    return { ...this.state };
  }

  /** Requests sent to the Management Node so far (all pages of all sweeps). */
  get requests(): number {
    return this.client.requests;
  }

  /** One sweep now (also used by the timer). Resolves with the result, or rejects with the sweep's error after reporting it. */
  async sweep(): Promise<SweepResult> {
    const at = this.clock();
    try {
      const result = await this.fetchSweep(at);
      this.last = result.observations;
      this.state = { ...this.state, lastSuccessAt: at, failures: 0, stale: false, sweeps: this.state.sweeps + 1 };
      if (!this.stopped) this.options.onSweep(result);
      return result;
    } catch (caught) {
      const error = caught instanceof DrainwatchError
        ? caught
        : new DrainwatchError('DW_MANAGEMENT_NETWORK', `Management Node sweep failed: ${(caught as Error).message}`, { cause: caught });
      const failures = this.state.failures + 1;
      this.state = {
        ...this.state,
        failures,
        stale: this.last.size > 0,
        sweeps: this.state.sweeps + 1,
        lastError: { code: error.code, message: error.message, at },
      };
      const stale = new Map([...this.last].map(([name, observation]) => [name, { ...observation, stale: true }]));
      if (!this.stopped) this.options.onFailure(error, stale, failures);
      throw error;
    }
  }

  /** Stops sweeping; waits for a sweep in flight. Idempotent. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    await this.client.close().catch(() => undefined);
  }

  /** Stops sweeping and drops the connection now. */
  async destroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.client.destroy().catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.sweep()
        .catch(() => undefined)
        .finally(() => {
          this.running = null;
          const base = backoffDelay(this.options.intervalMs, this.state.failures);
          // ±10% jitter so several drainwatch instances do not sweep in lockstep.
          this.schedule(base * (0.9 + 0.2 * this.random()));
        });
    }, delayMs);
    this.timer.unref();
  }

  private async fetchSweep(at: number): Promise<SweepResult> {
    let statuses = await this.client.list(STATUS_WORKER_VM_PATH, parseStatusPage);
    if (!statuses.consistent) {
      // The list changed size mid-sweep; offset pages may have skipped a node. Read it once more.
      statuses = await this.client.list(STATUS_WORKER_VM_PATH, parseStatusPage);
    }
    // A name listed twice: one record, chosen once, feeds both load/maintenance and inventory.
    const unique = uniqueByName(statuses.objects);
    for (const name of unique.duplicated) {
      if (this.warnedDuplicates.has(name)) continue;
      this.warnedDuplicates.add(name);
      this.logger.warn({ node: name }, 'Management Node lists this name more than once; using the record in maintenance if any, else the first (warned once)');
    }
    const records = unique.records;
    const observations = new Map<string, ManagementObservation>();
    const capacity = new Map<string, number>();
    for (const status of records) {
      observations.set(status.name, observationFrom(status, at));
      if (status.maxMediaTokens !== null && status.maxMediaTokens > 0) capacity.set(status.name, status.maxMediaTokens);
    }
    let discovered: NodeSpec[] | null = null;
    let skipped: DiscoveryResult['skipped'] = [];
    let pages = statuses.pages;
    if (this.options.discover) {
      const portField = this.options.portField;
      const configurations = await this.client.list(CONFIGURATION_WORKER_VM_PATH, (body, where) => parseConfigurationPage(body, where, portField));
      pages += configurations.pages;
      const found = discoverNodes(records, configurations.objects, this.options);
      skipped = found.skipped;
      for (const skip of skipped) this.logger.warn({ node: skip.name, why: skip.why }, 'discovery skipped a Management Node entry');
      if (found.nodes.length === 0 && this.lastDiscovered.length > 0) {
        // An empty list from a Management Node that listed nodes before is far more likely a fault than a fleet gone.
        this.logger.warn({ kept: this.lastDiscovered.length }, 'Management Node listed no Conferencing Nodes; keeping the nodes discovered before');
      } else {
        discovered = found.nodes;
        this.lastDiscovered = found.nodes;
      }
    }
    return { at, statuses: records, observations, capacity, discovered, skipped, pages };
  }
}
