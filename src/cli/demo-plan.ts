// The demo's rolling upgrade as a maintenance plan: drainwatch enters nodes, the simulator upgrades drained ones, the demo lets them back.

import type { Plan } from '../core/maintenance-plan.js';
import type { MaintenanceRunner } from '../service/maintenance-runner.js';
import type { Scenario } from '../simulator/index.js';

export type DemoPlanOptions = {
  /** Node names, in upgrade order. */
  nodes: () => string[];
  /** Delay before the first plan, and between one plan's end and the next (ms). */
  startAfterMs: number;
  reason: string;
  write: (line: string) => void;
};

const time = () => new Date().toISOString().slice(11, 19);

/**
 * Starts a plan over every node; when the simulator reports a node upgraded (it comes back still
 * in maintenance, as real nodes do), takes it out of maintenance so the plan's capacity guard lets
 * the next one go. Prints each plan node's changes. Returns a stop function.
 *
 * @example
 * const stop = driveDemoPlans(service.maintenance, scenario, { nodes: () => sim.nodes().map((n) => n.name), startAfterMs: 10_000, reason: 'upgrade', write });
 */
export function driveDemoPlans(runner: MaintenanceRunner, scenario: Scenario, options: DemoPlanOptions): () => void {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) run();
    }, ms);
    timer.unref();
    timers.add(timer);
  };
  const start = () => {
    void runner.start({ nodes: options.nodes(), reason: options.reason, spacingMs: null, by: 'the demo' }).then((result) => {
      if (result.ok) options.write(`${time()}  [plan]  started plan ${result.plan.id}: ${result.plan.nodes.map((n) => n.name).join(', ')}, one at a time`);
      else {
        options.write(`${time()}  [plan]  not started: ${result.problems.join('; ')}; trying again shortly`);
        later(options.startAfterMs, start);
      }
    });
  };
  const onEvent = (event: { type: string; node?: string }) => {
    if (event.type !== 'upgraded' || !event.node) return;
    const name = event.node;
    void runner.exit([name], 'the demo').then((result) => {
      const detail = 'results' in result ? result.results.map((r) => r.detail).join('; ') : result.problems.join('; ');
      options.write(`${time()}  [plan]  ${name} is upgraded: taking it out of maintenance (${detail})`);
    });
  };
  scenario.on('event', onEvent);
  let shown = new Map<string, string>();
  let planId: string | null = null;
  const watch = setInterval(() => {
    const plan: Plan | null = runner.current();
    if (!plan) return;
    if (plan.id !== planId) {
      planId = plan.id;
      shown = new Map();
    }
    for (const node of plan.nodes) {
      const line = `${node.state}${node.calls === null ? '' : `, ${node.calls} call(s)`}`;
      if (shown.get(node.name) === line) continue;
      shown.set(node.name, line);
      if (node.state !== 'queued') options.write(`${time()}  [plan]  ${node.name.padEnd(6)} ${line}`);
    }
    const key = `${plan.state}|${plan.waitingReason ?? ''}`;
    if (shown.get('') !== key) {
      shown.set('', key);
      if (plan.state === 'waiting') options.write(`${time()}  [plan]  waiting: ${plan.waitingReason ?? ''}`);
      if (plan.state === 'done' || plan.state === 'failed' || plan.state === 'cancelled') {
        options.write(`${time()}  [plan]  plan ${plan.id} ${plan.state}; the next one starts in ${Math.round(options.startAfterMs / 1000)} s`);
        later(options.startAfterMs, start);
      }
    }
  }, 500);
  watch.unref();
  later(options.startAfterMs, start);
  return () => {
    stopped = true;
    clearInterval(watch);
    for (const timer of timers) clearTimeout(timer);
    scenario.off('event', onEvent);
  };
}
