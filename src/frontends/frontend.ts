// The shape every front-end shares: built from a context, started, reconfigured on reload, closed.

import type { Hono } from 'hono';
import type { Config } from '../config/schema.js';
import type { Secrets } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import type { StateCore } from '../core/state.js';
import type { SnapshotSource } from '../core/snapshot.js';
import type { Metrics } from '../operator/metrics/registry.js';

/** What a front-end is built from. `config()`/`secrets()` always return the current (reloaded) values. */
export type FrontendContext = {
  source: SnapshotSource;
  /** The state core, for front-ends that write (operator overrides). Read paths use `source`. */
  core: StateCore;
  config: () => Config;
  secrets: () => Secrets;
  logger: Logger;
  metrics: Metrics;
  /** The shared HTTP app: register routes while being created (before the server starts). */
  app: Hono;
};

export type Frontend = {
  readonly name: string;
  /** Opens listeners, writes first files. */
  start?(): Promise<void>;
  /** Applies a new validated config (after the core has). */
  reload?(): Promise<void> | void;
  /** Finishes in-flight work and stops. Idempotent. */
  close(): Promise<void>;
};
