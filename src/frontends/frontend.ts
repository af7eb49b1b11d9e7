// The shape every front-end shares: built from a context, started, reconfigured on reload, closed or destroyed.

import type { Hono } from 'hono';
import type { Config } from '../config/schema.js';
import type { Secrets } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import type { StateCore } from '../core/state.js';
import type { LoadBalancerSync } from '../core/lb-sync.js';
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
  /** Epoch milliseconds; every front-end reads time here (never Date.now) so tests can use fake timers. */
  clock: () => number;
  /** The load-balancer sync model (DESIGN §2b): front-ends register targets and report read-backs. Absent in some unit tests. */
  sync?: LoadBalancerSync;
};

/**
 * One load-balancer or operator surface. `close` and `destroy` are both idempotent and may be
 * called in either order; after `destroy` has been called, a pending `close` settles promptly.
 *
 * @example
 * const frontend = createNginxFrontend(context);
 * await frontend.start?.();
 * await frontend.close();   // SIGTERM: let a running `nginx -s reload` finish
 * await frontend.destroy(); // grace over: kill it
 */
export type Frontend = {
  readonly name: string;
  /** Opens listeners, writes first files. */
  start?(): Promise<void>;
  /** Applies a new validated config (after the core has). */
  reload?(): Promise<void> | void;
  /** Stops taking new work and waits for in-flight work (a command, a push, an answer). Idempotent. */
  close(): Promise<void>;
  /** Stops now: aborts commands (killing their process groups), drops sockets, clears timers. Idempotent. */
  destroy(): Promise<void>;
};
