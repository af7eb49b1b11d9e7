// Wires a validated config into a running service: core + prober + front-ends, with queued reloads, close and destroy.

import { readFileSync } from 'node:fs';
import { Prober } from '../sources/probe/prober.js';
import { ProbeScheduler } from '../sources/probe/scheduler.js';
import { ManagementSource } from '../sources/management/source.js';
import { StateCore } from '../core/state.js';
import { silentLogger } from '../core/logger.js';
import { MaintenanceWarnings } from '../core/maintenance-warnings.js';
import { WeightSmoother } from '../core/weight-smoothing.js';
import { loadConfigFile } from '../config/load.js';
import { createHttpApp } from '../operator/http/app.js';
import { HttpServer } from '../operator/http/server.js';
import { Metrics } from '../operator/metrics/registry.js';
import { createAdminApi } from '../operator/api/nodes.js';
import { createMetricsEndpoint } from '../operator/metrics/endpoint.js';
import { createOverrideApi } from '../operator/api/overrides.js';
import { createDashboard } from '../operator/dashboard/routes.js';
import { createLoadBalancerApi } from '../operator/api/loadbalancers.js';
import { LoadBalancerSync } from '../core/lb-sync.js';
import { startSyncLoop } from './lb-sync-loop.js';
import { createMaintenanceApi } from '../operator/api/maintenance.js';
import { MaintenanceRunner } from './maintenance-runner.js';
import { HAPROXY_FRONTENDS } from '../frontends/haproxy/index.js';
import { ENVOY_FRONTENDS } from '../frontends/envoy/index.js';
import { NGINX_FRONTENDS } from '../frontends/nginx/index.js';
import { mergeInventory, sameNodes, staticNodes } from './inventory.js';
import { planReload } from './reload-plan.js';
import type { Hono } from 'hono';
import type { Config } from '../config/schema.js';
import type { LoadedConfig, Secrets } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import type { NodeSpec } from '../core/verdict.js';
import type { PollerStatus } from '../sources/management/poller.js';
import type { ManagementSettings } from '../sources/management/source.js';
import type { Frontend, FrontendContext } from '../frontends/frontend.js';
import type { ReloadAction } from './reload-plan.js';

export { staticNodes } from './inventory.js';

/** Builds one front-end; the list below is the only place front-ends are wired. */
export type FrontendFactory = (context: FrontendContext) => Frontend;

const OPERATOR_FRONTENDS: readonly FrontendFactory[] = [createAdminApi, createOverrideApi, createMetricsEndpoint, createDashboard, createLoadBalancerApi];

/** Started in this order; a new load balancer is one folder whose index exports its list, plus one entry here. */
export const DEFAULT_FRONTENDS: readonly FrontendFactory[] = [...OPERATOR_FRONTENDS, ...HAPROXY_FRONTENDS, ...NGINX_FRONTENDS, ...ENVOY_FRONTENDS];

export type ServiceOptions = {
  logger?: Logger;
  /** Epoch ms; handed to every front-end (FrontendContext.clock). Default Date.now. */
  clock?: () => number;
  frontends?: readonly FrontendFactory[];
  /** Metrics registry to use (tests pass a fresh one; default: new). */
  metrics?: Metrics;
};

/** How a reload ended: `ok` once every step applied; otherwise the reasons, also logged and counted. */
export type ReloadResult = { ok: boolean; errors: string[] };

/** The CA bundle named by probe.tls.ca_file, read once per loaded config (the prober and the Management Node share it). */
const caBundles = new WeakMap<Config, Buffer | undefined>();
function caBundle(config: Config): Buffer | undefined {
  if (!caBundles.has(config)) caBundles.set(config, config.probe.tls.ca_file ? readFileSync(config.probe.tls.ca_file) : undefined);
  return caBundles.get(config);
}

function proberFor(config: Config, clock: () => number): Prober {
  const tls = config.probe.tls;
  return new Prober({
    timeoutMs: config.probe.timeout,
    bodyLimit: config.probe.body_limit,
    clock,
    tls: { ca: caBundle(config), insecureSkipVerify: tls.insecure_skip_verify, servername: tls.servername },
  });
}

function managementSettings(loaded: LoadedConfig): ManagementSettings | null {
  const { management, probe } = loaded.config;
  if (!management) return null;
  // The prober's CA bundle and verification opt-in apply to the Management Node too (its servername does not).
  return { management, secrets: loaded.secrets, tls: { ca: caBundle(loaded.config), insecureSkipVerify: probe.tls.insecure_skip_verify } };
}

/**
 * A running drainwatch.
 *
 * @example
 * const service = await Service.start(loadedConfig, { logger });
 * await service.reloadFromFile(path); // { ok: true, errors: [] } once applied
 * await service.close(3000);          // graceful; destroys what is left after 3 s
 */
export class Service {
  readonly core: StateCore;
  readonly metrics: Metrics;
  readonly app: Hono;
  readonly logger: Logger;
  private loaded: LoadedConfig;
  private prober: Prober;
  private readonly scheduler: ProbeScheduler;
  private readonly http: HttpServer;
  private readonly frontends: Frontend[];
  /** What every load balancer holds, read back (DESIGN §2b). */
  readonly sync: LoadBalancerSync;
  private readonly syncLoop: { stop(): void };
  private readonly management: ManagementSource;
  /** Maintenance plans (one at a time), driven through /api/v1/maintenance. */
  readonly maintenance: MaintenanceRunner;
  private discovered: NodeSpec[] = [];
  private readonly clock: () => number;
  private readonly smoother: WeightSmoother;
  /** Reloads run one at a time, in the order they were asked for. */
  private queue: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private closing: Promise<void> | null = null;
  private destroying: Promise<void> | null = null;
  /** Settles when destroy() has finished, whoever called it (close() races against it). */
  private markDestroyed: () => void = () => undefined;
  private readonly destroyed = new Promise<'destroyed'>((resolve) => {
    this.markDestroyed = () => resolve('destroyed');
  });

  private constructor(loaded: LoadedConfig, options: ServiceOptions) {
    const clock = options.clock ?? Date.now;
    const { config } = loaded;
    this.loaded = loaded;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? new Metrics({ clock });
    this.clock = clock;
    this.smoother = new WeightSmoother({ windowMs: () => this.loaded.config.policy.weight_smoothing });
    this.core = new StateCore({
      nodes: staticNodes(config),
      rise: config.probe.rise,
      fall: config.probe.fall,
      maxAgeMs: config.probe.max_age,
      policy: config.policy,
      clock,
      logger: this.logger,
      weightLoad: (name, management, now) => this.smoother.load(name, management, now),
    });
    this.metrics.bind(this.core);
    this.sync = new LoadBalancerSync({ now: clock });
    this.syncLoop = startSyncLoop(this.sync, { logger: this.logger, metrics: this.metrics });
    this.management = new ManagementSource({
      sink: {
        inventory: () => this.core.inventory(),
        recordManagement: (name, observation) => this.core.recordManagement(name, observation),
        // Only a changed list is applied: setInventory publishes a new snapshot version.
        setDiscovered: (nodes) => {
          if (!sameNodes(nodes, this.discovered)) this.setDiscoveredNodes(nodes);
        },
      },
      logger: this.logger,
      clock,
      onPoll: (result) => this.metrics.managementPolls.inc({ result }),
      onSweep: (result) => this.maintenance.observeSweep(result),
    });
    const warnings = new MaintenanceWarnings({
      policy: () => this.loaded.config.policy,
      capacityOf: (name) => this.management.capacityOf(name),
      onWarning: (warning) => {
        this.metrics.managementWarnings.inc({ kind: warning.kind });
        this.logger.warn({ kind: warning.kind, ...warning.fields }, warning.message);
      },
      onRecovered: (fields) => this.logger.info(fields, 'ready capacity is back above policy.min_ready_capacity'),
    });
    this.core.onChange((snapshot, changed) => warnings.observe(snapshot, changed));
    this.metrics.configReloadTime.set(clock() / 1000);
    this.core.onTransition((transition) => this.metrics.transitions.inc({ from: transition.from, to: transition.to }));
    this.prober = proberFor(config, clock);
    this.scheduler = new ProbeScheduler({
      intervalMs: config.probe.interval,
      jitter: config.probe.jitter,
      concurrency: config.probe.concurrency,
      clock,
      // The allocation-free path: the scheduler's per-node objects are the probes' sinks.
      runner: {
        run: (node, sink) => this.prober.run(node, sink),
        abort: (node) => this.prober.abort(node),
        forget: (node) => this.prober.forget(node),
      },
      onResult: (node, observation) => {
        this.metrics.observeProbe(observation);
        this.core.recordProbe(node.name, observation);
        this.maintenance.observeProbe(node.name, observation);
      },
      onStart: (_node, latenessMs) => this.metrics.probeLateness.observe(latenessMs / 1000),
    });
    this.app = createHttpApp(this.logger);
    const context: FrontendContext = {
      source: this.core,
      core: this.core,
      config: () => this.loaded.config,
      secrets: () => this.loaded.secrets,
      logger: this.logger,
      metrics: this.metrics,
      app: this.app,
      clock,
      sync: this.sync,
    };
    this.maintenance = new MaintenanceRunner({
      source: this.core, config: context.config, logger: this.logger, clock, registry: this.metrics.registry,
      management: () => managementSettings(this.loaded),
    });
    // The maintenance API drives the plan runner (start, close, destroy), so it is always wired.
    this.frontends = [...(options.frontends ?? DEFAULT_FRONTENDS).map((factory) => factory(context)), createMaintenanceApi({ ...context, maintenance: this.maintenance })];
    this.http = new HttpServer(this.app, {
      listen: config.http.listen,
      logger: this.logger,
      limits: () => this.loaded.config.http,
      onRefused: (reason) => this.metrics.listenerRefusals.inc({ listener: 'http', reason }),
    });
  }

  /** Starts probing and every front-end; rejects (after destroying what started) if a listener cannot bind. */
  static async start(loaded: LoadedConfig, options: ServiceOptions = {}): Promise<Service> {
    const service = new Service(loaded, options);
    try {
      await service.http.start();
      for (const frontend of service.frontends) await frontend.start?.();
    } catch (error) {
      await service.destroy();
      throw error;
    }
    service.core.start();
    service.scheduler.setNodes(service.core.inventory());
    service.scheduler.start();
    const settings = managementSettings(loaded);
    if (settings) service.management.start(settings);
    service.logger.info(
      { nodes: service.core.inventory().length, http: loaded.config.http.listen.text, source: loaded.source },
      'drainwatch started',
    );
    return service;
  }

  get config(): Config {
    return this.loaded.config;
  }

  get secrets(): Secrets {
    return this.loaded.secrets;
  }

  /** The bound HTTP address (port 0 in tests becomes a real port). */
  httpAddress(): { host: string; port: number } {
    const address = this.http.address();
    return { host: address.address, port: address.port };
  }

  /** A running front-end by name (e.g. "haproxy-agent" for its bound address), or undefined. */
  frontend(name: string): Frontend | undefined {
    return this.frontends.find((frontend) => frontend.name === name);
  }

  /** The Management Node poller's health (null when no `management` section is configured). */
  managementStatus(): PollerStatus | null {
    return this.management.status();
  }

  /** Replaces the nodes found by discovery; static entries with the same name win. */
  setDiscoveredNodes(nodes: readonly NodeSpec[]): void {
    this.discovered = [...nodes];
    this.applyInventory();
  }

  /**
   * Re-reads the config file and applies it, after any reload already queued. A broken file is
   * rejected (logged, counted) and the running config stays. Never rejects.
   */
  reloadFromFile(path: string): Promise<ReloadResult> {
    return this.enqueue(path, async () => {
      const result = loadConfigFile(path);
      if (!result.ok) {
        this.metrics.configReloads.inc({ result: 'failed' });
        this.logger.error({ source: path, errors: result.errors }, 'config reload rejected; keeping the running config');
        return { ok: false, errors: result.errors };
      }
      return this.apply(result);
    });
  }

  /** Applies a validated config (after any reload already queued): rules, timing, TLS, inventory, then each front-end. Never rejects. */
  reload(loaded: LoadedConfig): Promise<ReloadResult> {
    return this.enqueue(loaded.source, () => this.apply(loaded));
  }

  /** Graceful stop: finish reloads and in-flight probes, close front-ends and HTTP; after `graceMs`, destroy the rest. Idempotent. */
  close(graceMs = 5000): Promise<void> {
    this.closing ??= this.shutdown(graceMs);
    return this.closing;
  }

  /** Immediate stop: abort probes and sweeps, destroy front-ends (killing their commands), drop connections. Idempotent. */
  destroy(): Promise<void> {
    this.stopping = true;
    this.destroying ??= this.teardown();
    return this.destroying;
  }

  private enqueue(source: string, task: () => Promise<ReloadResult>): Promise<ReloadResult> {
    const run = async (): Promise<ReloadResult> => {
      if (this.stopping) return { ok: false, errors: ['drainwatch is stopping; reload not applied'] };
      try {
        return await task();
      } catch (error) {
        // Anything a step throws ends here: logged and counted, never an unhandled rejection.
        this.metrics.configReloads.inc({ result: 'failed' });
        this.logger.error({ source, err: error }, 'config reload failed part-way');
        return { ok: false, errors: [(error as Error).message ?? String(error)] };
      }
    };
    const turn = this.queue.then(run);
    this.queue = turn;
    return turn;
  }

  private async apply(loaded: LoadedConfig): Promise<ReloadResult> {
    const actions = planReload(this.loaded, loaded);
    this.loaded = loaded;
    const errors: string[] = [];
    for (const action of actions) await this.carryOut(action, errors);
    if (errors.length > 0) {
      this.metrics.configReloads.inc({ result: 'failed' });
      this.logger.error({ source: loaded.source, errors }, 'config reloaded, but some front-ends did not take it');
      return { ok: false, errors };
    }
    this.metrics.configReloads.inc({ result: 'ok' });
    this.metrics.configReloadTime.set(this.clock() / 1000);
    this.logger.info({ source: loaded.source, nodes: this.core.inventory().length }, 'config reloaded');
    return { ok: true, errors: [] };
  }

  private async carryOut(action: ReloadAction, errors: string[]): Promise<void> {
    const { config } = this.loaded;
    switch (action.kind) {
      case 'warn-http-listen':
        this.logger.warn({ from: action.from, to: action.to }, 'http.listen changed: restart drainwatch to move the listener');
        return;
      case 'replace-prober': {
        const old = this.prober;
        this.prober = proberFor(config, this.clock);
        void old.close().catch(() => undefined);
        return;
      }
      case 'update-rules':
        this.core.updateRules({ rise: config.probe.rise, fall: config.probe.fall, maxAgeMs: config.probe.max_age, policy: config.policy });
        this.scheduler.updateTiming({ intervalMs: config.probe.interval, jitter: config.probe.jitter, concurrency: config.probe.concurrency });
        return;
      case 'apply-inventory':
        this.applyInventory();
        return;
      case 'start-management':
      case 'restart-management': {
        const settings = managementSettings(this.loaded);
        if (settings) this.management.start(settings);
        return;
      }
      case 'stop-management':
        this.management.stop();
        return;
      case 'reload-frontends':
        for (const frontend of this.frontends) {
          try {
            await frontend.reload?.();
          } catch (error) {
            this.logger.error({ frontend: frontend.name, err: error }, 'front-end could not apply the new config');
            errors.push(`${frontend.name}: ${(error as Error).message ?? String(error)}`);
          }
        }
    }
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    this.logger.info({}, 'drainwatch stopping');
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const graceful = (async () => {
      await this.queue; // a reload in flight finishes (or is destroyed) first
      await this.management.close();
      await this.scheduler.close();
      this.core.close();
      await Promise.allSettled(this.frontends.map((frontend) => frontend.close()));
      await this.http.close(graceMs);
      await this.prober.close();
      this.syncLoop.stop();
    })();
    // destroy() called by someone else while closing: close is over when destroy is.
    const finished = graceful.then(
      () => 'done' as const,
      (error: unknown) => {
        this.logger.error({ err: error }, 'graceful stop failed; aborting what is left');
        return 'failed' as const;
      },
    );
    const outcome = await Promise.race([finished, grace, this.destroyed]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.logger.warn({ grace_ms: graceMs }, 'grace period over; aborting what is left');
    if (outcome === 'timeout' || outcome === 'failed') await this.destroy();
    this.logger.info({}, 'drainwatch stopped');
  }

  private async teardown(): Promise<void> {
    // Nothing here waits for a front-end to *close*: destroy aborts commands and drops sockets.
    this.core.close(); // no more snapshots: nothing schedules new work while the rest is torn down
    this.syncLoop.stop();
    await Promise.allSettled([
      this.management.destroy(),
      Promise.resolve().then(() => this.scheduler.destroy()),
      ...this.frontends.map((frontend) => frontend.destroy()),
      this.http.destroy(),
      this.prober.destroy(),
    ]);
    this.markDestroyed();
  }

  private applyInventory(): void {
    const merged = mergeInventory(staticNodes(this.loaded.config), this.discovered);
    this.core.setInventory(merged);
    this.scheduler.setNodes(merged);
    this.smoother.retain(new Set(merged.map((node) => node.name)));
  }
}
