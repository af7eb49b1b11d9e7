// Demo scenario: loads drift, calls follow load, calls end on nodes in maintenance, and a rolling upgrade runs forever.

import { EventEmitter } from 'node:events';
import type { Simulator } from './fleet.js';
import { NODE_CAPACITY } from './sim-node.js';
import type { NodePhase } from './sim-node.js';

/** Timings (ms) and knobs of the demo scenario; defaults suit a person watching a dashboard. */
export type ScenarioOptions = {
  /** Load random-walk period (default 1000). */
  tickMs?: number;
  /** Delay before the first node is upgraded (default 10000). */
  upgradeAfterMs?: number;
  /** Time in maintenance while calls drain (default 12000). */
  maintenanceMs?: number;
  /**
   * How long the calls on any node in maintenance take to end, linearly from the count it entered
   * with (default `maintenanceMs`). Covers nodes put in maintenance from outside too (a drainwatch
   * maintenance plan writing to the Management Node).
   */
  callsEndMs?: number;
  /** Time refusing connections (default 6000). */
  rebootMs?: number;
  /** Time accepting TCP but not answering (default 3000). */
  bootMs?: number;
  /** Pause between two nodes (default 8000). */
  pauseMs?: number;
  /** Maintenance reason (default "Software upgrade to 36.1"). */
  reason?: string;
  /** Version reported after the upgrade (default "36.1.0.87634.0.0"). */
  targetVersion?: string;
  /** Largest load change per tick, in percent points (default 5). */
  driftStep?: number;
  /**
   * `true` (default): the scenario runs the rolling upgrade itself, one node at a time.
   * `'external'`: something else puts nodes in maintenance (a drainwatch plan); the scenario upgrades
   * each one once its calls have ended (reboot, boot, new version) and emits `upgraded`; a node whose
   * maintenance was set through the Management Node comes back still in maintenance, as real ones do.
   * `false`: only drift loads.
   */
  upgrade?: boolean | 'external';
  /** Random source in [0, 1) (default Math.random); inject one for reproducible runs. */
  random?: () => number;
};

/** What the scenario reports: a phase change with a sentence, or a problem it worked around. */
export type ScenarioEvent =
  | { type: 'phase'; at: Date; node: string; phase: NodePhase; previous: NodePhase; message: string }
  | { type: 'upgraded'; at: Date; node: string; version: string; message: string }
  | { type: 'error'; at: Date; node?: string; message: string };

const LOAD_MIN = 5;
const LOAD_MAX = 95;

/** A running scenario; `stop()` clears every timer (all are unref'd, so it never holds the process). */
export class Scenario extends EventEmitter<{ event: [ScenarioEvent] }> {
  readonly #sim: Simulator;
  readonly #options: Required<ScenarioOptions>;
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopped = false;
  #cursor = -1;
  /** Calls each node in maintenance had when it entered, and when, to end them linearly. */
  readonly #drains = new Map<string, { calls: number; since: number }>();
  /** Nodes the external-mode upgrade is working on, and those done since they last left maintenance. */
  readonly #upgrading = new Set<string>();
  readonly #upgraded = new Set<string>();

  constructor(sim: Simulator, options: ScenarioOptions = {}) {
    super();
    this.#sim = sim;
    this.#options = {
      tickMs: options.tickMs ?? 1000,
      upgradeAfterMs: options.upgradeAfterMs ?? 10_000,
      maintenanceMs: options.maintenanceMs ?? 12_000,
      callsEndMs: options.callsEndMs ?? options.maintenanceMs ?? 12_000,
      rebootMs: options.rebootMs ?? 6000,
      bootMs: options.bootMs ?? 3000,
      pauseMs: options.pauseMs ?? 8000,
      reason: options.reason ?? 'Software upgrade to 36.1',
      targetVersion: options.targetVersion ?? '36.1.0.87634.0.0',
      driftStep: options.driftStep ?? 5,
      upgrade: options.upgrade ?? true,
      random: options.random ?? Math.random,
    };
  }

  /** Seeds plausible loads and starts the timers; called by `startScenario`. */
  start(): this {
    for (const node of this.#sim.nodes()) {
      if (node.phase !== 'up' || node.load >= LOAD_MIN) continue;
      const load = 20 + Math.round(this.#options.random() * 40);
      this.#sim.setLoad(node.name, load);
      this.#sim.setCalls(node.name, callsFor(load));
    }
    const tick = setInterval(() => this.#tick(), this.#options.tickMs);
    tick.unref();
    this.#timers.add(tick);
    if (this.#options.upgrade === true) this.#after(this.#options.upgradeAfterMs, () => this.#upgradeNext());
    return this;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Stops the scenario; nodes keep whatever phase they are in. Idempotent. */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #after(ms: number, run: () => void | Promise<void>): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#stopped || this.#sim.closed) return;
      Promise.resolve(run()).catch((error: unknown) => this.#error((error as Error).message));
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  #tick(): void {
    if (this.#stopped || this.#sim.closed) return;
    const { driftStep, random, callsEndMs, upgrade } = this.#options;
    const now = Date.now();
    for (const node of this.#sim.nodes()) {
      if (node.phase !== 'maintenance') this.#drains.delete(node.name);
      if (node.phase === 'up') {
        this.#upgraded.delete(node.name);
        const step = Math.round((random() * 2 - 1) * driftStep);
        const load = Math.min(LOAD_MAX, Math.max(LOAD_MIN, node.load + step));
        this.#sim.setLoad(node.name, load);
        this.#sim.setCalls(node.name, callsFor(load));
      } else if (node.phase === 'maintenance') {
        // Calls end on their own while no new ones arrive: a linear drain is close enough.
        let drain = this.#drains.get(node.name);
        if (!drain) {
          drain = { calls: node.calls, since: now };
          this.#drains.set(node.name, drain);
        }
        const left = callsEndMs <= 0 ? 0 : Math.max(0, 1 - (now - drain.since) / callsEndMs);
        const calls = Math.floor(drain.calls * left);
        if (calls !== node.calls) this.#sim.setCalls(node.name, calls);
        if (upgrade === 'external' && calls === 0 && !this.#upgraded.has(node.name) && !this.#upgrading.has(node.name)) {
          void this.#upgradeDrained(node.name);
        }
      }
    }
  }

  /** External mode: a drained node reboots into the new version; its maintenance setting decides how it comes back. */
  async #upgradeDrained(name: string): Promise<void> {
    const { rebootMs, bootMs, targetVersion } = this.#options;
    this.#upgrading.add(name);
    try {
      await this.#phase(name, 'rebooting', `${name} has no calls left and reboots to install the upgrade; connections are refused.`);
      await this.#sleep(rebootMs);
      await this.#phase(name, 'booting', `${name} is booting: it accepts connections but does not answer yet.`);
      await this.#sleep(bootMs);
      await this.#sim.updateNode(name, { version: targetVersion, load: LOAD_MIN, calls: 0 });
      // A node set to maintenance through the Management Node comes back in maintenance (the setting survives reboots).
      await this.#phase(name, 'up', `${name} has booted on version ${targetVersion}; its maintenance setting decides whether it takes calls.`);
      if (this.#stopped) return;
      this.#upgraded.add(name);
      this.emit('event', { type: 'upgraded', at: new Date(), node: name, version: targetVersion, message: `${name} is upgraded to ${targetVersion}.` });
    } catch (error) {
      if (this.#stopped) return;
      this.#error(`upgrading ${name} failed: ${(error as Error).message}.`, name);
    } finally {
      this.#upgrading.delete(name);
    }
  }

  #upgradeNext(): void {
    const nodes = this.#sim.nodes();
    // One node at a time, in order, skipping nodes someone else already took out.
    let picked: string | undefined;
    for (let i = 1; i <= nodes.length; i += 1) {
      const index = (this.#cursor + i) % nodes.length;
      const candidate = nodes[index];
      if (candidate?.phase === 'up') {
        this.#cursor = index;
        picked = candidate.name;
        break;
      }
    }
    if (picked === undefined) {
      this.#after(this.#options.pauseMs, () => this.#upgradeNext());
      return;
    }
    void this.#upgrade(picked);
  }

  async #upgrade(name: string): Promise<void> {
    const { maintenanceMs, rebootMs, bootMs, pauseMs, reason, targetVersion } = this.#options;
    try {
      const calls = this.#sim.node(name)?.calls ?? 0;
      await this.#phase(name, 'maintenance', `${name} enters maintenance (${reason}); ${calls} call(s) left to drain, no new calls.`, reason);
      await this.#sleep(maintenanceMs);
      this.#sim.setCalls(name, 0);
      await this.#phase(name, 'rebooting', `${name} has no calls left and reboots to install the upgrade; connections are refused.`);
      await this.#sleep(rebootMs);
      await this.#phase(name, 'booting', `${name} is booting: it accepts connections but does not answer yet.`);
      await this.#sleep(bootMs);
      await this.#sim.updateNode(name, { version: targetVersion, load: LOAD_MIN, calls: 0 });
      await this.#phase(name, 'up', `${name} is back up on version ${targetVersion} and accepts calls again.`);
    } catch (error) {
      if (this.#stopped) return;
      this.#error(`upgrading ${name} failed: ${(error as Error).message}; moving on.`, name);
    }
    this.#after(pauseMs, () => this.#upgradeNext());
  }

  async #phase(name: string, phase: NodePhase, message: string, reason?: string): Promise<void> {
    if (this.#stopped) throw new Error('scenario stopped');
    const previous = this.#sim.node(name)?.phase ?? 'down';
    await this.#sim.setPhase(name, phase, reason);
    if (this.#stopped) return;
    this.emit('event', { type: 'phase', at: new Date(), node: name, phase, previous, message });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#stopped) {
        reject(new Error('scenario stopped'));
        return;
      }
      this.#after(ms, resolve);
    });
  }

  #error(message: string, node?: string): void {
    this.emit('event', node === undefined ? { type: 'error', at: new Date(), message } : { type: 'error', at: new Date(), node, message });
  }
}

function callsFor(load: number): number {
  return Math.round((load / 100) * NODE_CAPACITY.maxHdCalls);
}

/**
 * Starts the demo scenario on a running simulator.
 *
 * @example
 * const scenario = startScenario(sim, { upgradeAfterMs: 1000 });
 * scenario.on('event', (e) => console.log(e.message));
 * // later
 * scenario.stop();
 */
export function startScenario(sim: Simulator, options: ScenarioOptions = {}): Scenario {
  return new Scenario(sim, options).start();
}
