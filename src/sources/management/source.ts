// The Management Node as a source for the service: runs the poller and feeds its sweeps into the state core.

import { ManagementPoller, outcomeOf } from './poller.js';
import type { Config } from '../../config/schema.js';
import type { Secrets } from '../../config/load.js';
import type { DrainwatchError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ManagementObservation, NodeSpec } from '../../core/verdict.js';
import type { PollerStatus, SweepOutcome, SweepResult } from './poller.js';

/** Where sweeps go: the state core's Management records and the service's discovered inventory. */
export type ManagementSink = {
  inventory(): NodeSpec[];
  recordManagement(name: string, observation: ManagementObservation | null): void;
  /** Discovery's node list from a good sweep (the sink decides whether it changed anything). */
  setDiscovered(nodes: readonly NodeSpec[]): void;
};

export type ManagementSourceOptions = {
  sink: ManagementSink;
  logger: Logger;
  clock: () => number;
  /** One sweep's outcome, for the `management_polls_total` counter. */
  onPoll(result: SweepOutcome): void;
  /** Each good sweep as it came (maintenance plans read configuration ids and maintenance flags). */
  onSweep?(result: SweepResult): void;
};

/** What one poller is built from: the config section, its secrets, and the prober's TLS trust. */
export type ManagementSettings = {
  management: NonNullable<Config['management']>;
  secrets: Secrets;
  tls: { ca?: Buffer | undefined; insecureSkipVerify: boolean };
};

/**
 * Owns at most one running Management Node poller. `start` (re)starts it with new settings,
 * `stop` removes it and forgets what it said; `close`/`destroy` end it with the service.
 *
 * @example
 * const management = new ManagementSource({ sink, logger, clock: Date.now, onPoll: (r) => polls.inc({ result: r }) });
 * management.start({ management: config.management, secrets, tls: { ca, insecureSkipVerify: false } });
 * management.capacityOf('px01'); // max_media_tokens from the last good sweep, or null
 */
export class ManagementSource {
  private readonly options: ManagementSourceOptions;
  private poller: ManagementPoller | null = null;
  /** Pollers replaced by a reload, still finishing a sweep: destroy() must reach them too. */
  private readonly retiring = new Set<ManagementPoller>();
  /** True between a failed sweep and the next good one (to log the recovery once). */
  private failing = false;
  /** max_media_tokens per node from the last good sweep (capacity warning). */
  private capacity = new Map<string, number>();
  private ended = false;

  constructor(options: ManagementSourceOptions) {
    this.options = options;
  }

  /** Starts polling with `settings`, replacing a running poller (which finishes its sweep in the background). */
  start(settings: ManagementSettings): void {
    if (this.ended) return;
    this.retire();
    const { management, secrets, tls } = settings;
    const hint = management.token_env ?? management.token_file ?? management.password_env ?? management.password_file;
    this.poller = new ManagementPoller({
      url: management.url,
      username: management.username,
      password: secrets.managementPassword,
      token: secrets.managementToken,
      ...(hint ? { credentialHint: `management.username and the secret from ${hint}` } : {}),
      timeoutMs: management.timeout,
      pageSize: management.page_size,
      maxPages: management.max_pages,
      tls,
      intervalMs: management.interval,
      discover: management.discover,
      nodePort: management.node_port,
      statusUrlTemplate: management.status_url_template,
      portField: management.port_field,
      clock: this.options.clock,
      logger: this.options.logger,
      onSweep: (result) => this.applied(result),
      onFailure: (error, stale, failures) => this.failed(error, stale, failures),
    });
    this.poller.start();
  }

  /** The section was removed: stop polling, forget discovered nodes and the Management view of the static ones. */
  stop(): void {
    this.retire();
    this.capacity = new Map();
    this.failing = false;
    const { sink } = this.options;
    sink.setDiscovered([]);
    for (const spec of sink.inventory()) sink.recordManagement(spec.name, null);
  }

  /** The poller's health, or null when no Management Node is configured. */
  status(): PollerStatus | null {
    return this.poller?.status() ?? null;
  }

  /** max_media_tokens of a node from the last good sweep, or null. */
  capacityOf(name: string): number | null {
    return this.capacity.get(name) ?? null;
  }

  /** Stops polling and waits for a sweep in flight. Idempotent. */
  async close(): Promise<void> {
    this.ended = true;
    const all = [...this.retiring, ...(this.poller ? [this.poller] : [])];
    await Promise.all(all.map((poller) => poller.close()));
  }

  /** Stops polling and drops the connection now. Idempotent. */
  async destroy(): Promise<void> {
    this.ended = true;
    const all = [...this.retiring, ...(this.poller ? [this.poller] : [])];
    await Promise.all(all.map((poller) => poller.destroy()));
  }

  private retire(): void {
    const old = this.poller;
    this.poller = null;
    if (!old) return;
    this.retiring.add(old);
    void old.close().finally(() => this.retiring.delete(old));
  }

  private applied(result: SweepResult): void {
    const { sink, logger } = this.options;
    const wasFailing = this.failing;
    this.failing = false;
    this.options.onPoll('ok');
    if (wasFailing) logger.info({ pages: result.pages }, 'Management Node sweep succeeded again');
    this.capacity = result.capacity;
    if (result.discovered) sink.setDiscovered(result.discovered);
    for (const spec of sink.inventory()) sink.recordManagement(spec.name, result.observations.get(spec.name) ?? null);
    this.options.onSweep?.(result);
  }

  private failed(error: DrainwatchError, stale: Map<string, ManagementObservation>, failures: number): void {
    const { sink, logger } = this.options;
    this.failing = true;
    this.options.onPoll(outcomeOf(error));
    logger.error({ code: error.code, failures, kept_stale: stale.size }, `${error.message} (keeping the last good data, marked stale)`);
    for (const spec of sink.inventory()) {
      const observation = stale.get(spec.name);
      if (observation) sink.recordManagement(spec.name, observation);
    }
  }
}
