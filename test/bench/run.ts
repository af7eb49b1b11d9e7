// Benchmark entry (`npm run bench`): runs the scenarios, prints one table with the machine's description.
//
//   npm run bench                          every scenario, full durations
//   npm run bench -- --short               a few seconds per measurement
//   npm run bench -- --only prober-10k     one scenario (repeat --only or use commas for several)
//   npm run bench -- --cpu-prof            also write V8 CPU profiles of the measured drainwatch processes
//   npm run bench -- --write-results       (re)write test/bench/RESULTS.md

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Scenario } from './lib/context.js';
import { describeMachine, machineText } from './lib/machine.js';
import { summarizeProfiles } from './lib/profile.js';
import { renderTable } from './lib/report.js';
import type { ResultRow } from './lib/report.js';
import { killAll, profiling } from './lib/workers.js';
import { agentCheck } from './scenarios/agent.js';
import { envoy } from './scenarios/envoy.js';
import { fanIn } from './scenarios/fan-in.js';
import { propagation } from './scenarios/propagation.js';
import { prober10k, proberFloor } from './scenarios/prober-floor.js';
import { xdsPropagation } from './scenarios/xds-propagation.js';

const SCENARIOS: readonly Scenario[] = [agentCheck, envoy, proberFloor, prober10k, propagation, xdsPropagation, fanIn];

type Options = { only: string[]; short: boolean; writeResults: boolean; cpuProf: boolean; note: string | null };

function usage(): string {
  return `usage: npm run bench -- [--short] [--only <scenario>[,<scenario>]] [--cpu-prof] [--write-results] [--note "<text>"]\nscenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { only: [], short: false, writeResults: false, cpuProf: false, note: null };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const value = (): string => {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new Error(`${arg} needs a value\n${usage()}`);
      i += 1;
      return next;
    };
    if (arg === '--short') options.short = true;
    else if (arg === '--write-results') options.writeResults = true;
    else if (arg === '--cpu-prof') options.cpuProf = true;
    else if (arg === '--only') options.only.push(...value().split(',').filter(Boolean));
    else if (arg.startsWith('--only=')) options.only.push(...arg.slice(7).split(',').filter(Boolean));
    else if (arg === '--note') options.note = value();
    else if (arg === '--help' || arg === '-h') {
      console.log(usage());
      process.exit(0);
    } else throw new Error(`unknown argument ${JSON.stringify(arg)}\n${usage()}`);
  }
  const unknown = options.only.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}\n${usage()}`);
  return options;
}

async function runScenario(scenario: Scenario, options: Options, cores: number): Promise<{ rows: ResultRow[]; notes: string[]; seconds: number }> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const context: BenchContext = {
    short: options.short,
    log: (message) => console.error(message),
    defer: (cleanup) => cleanups.push(cleanup),
    measuredCore: cores > 1 ? 1 : 0,
    loadCore: 0,
  };
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const budget = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`went over its ${scenario.budgetMs / 1000} s budget`)), scenario.budgetMs);
    });
    const result = await Promise.race([scenario.run(context), budget]);
    return { ...result, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`  ${scenario.name} failed: ${error instanceof Error ? (error.stack ?? message) : message}`);
    return { rows: [{ scenario: scenario.name, measure: 'scenario failed', drainwatch: message.split('\n')[0] ?? message, hit: false }], notes: [`${scenario.name} failed: ${message}`], seconds: (performance.now() - started) / 1000 };
  } finally {
    clearTimeout(timer);
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error(`  cleanup after ${scenario.name} failed: ${String(error)}`);
      }
    }
  }
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  if (options.cpuProf) profiling.dir = mkdtempSync(join(os.tmpdir(), 'drainwatch-bench-prof-'));
  const machine = describeMachine();
  const selected = options.only.length > 0 ? SCENARIOS.filter((s) => options.only.includes(s.name)) : SCENARIOS;
  const command = `npm run bench --${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}` : ''}`.replace(/ --$/, '');
  console.error(machineText(machine));
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  const began = performance.now();
  for (const scenario of selected) {
    console.error(`\n== ${scenario.name}: ${scenario.title}`);
    const result = await runScenario(scenario, options, machine.cores);
    console.error(`  done in ${result.seconds.toFixed(1)} s`);
    rows.push(...result.rows);
    notes.push(...result.notes);
  }
  const totalS = (performance.now() - began) / 1000;
  const loadAfter = os.loadavg();
  const shared =
    options.note ??
    (machine.loadAverage[0] > 0.5 || (loadAfter[0] ?? 0) > 2.5
      ? `Other work was running on this machine during the run (load average ${machine.loadAverage[0].toFixed(2)} at start, ${(loadAfter[0] ?? 0).toFixed(2)} at end): absolute figures are noisy; the ratios, measured side by side in the same run, are the figures to read.`
      : null);
  const table = renderTable(rows);
  const text = [
    `Machine: ${machineText(machine)}`,
    `Command: ${command}  (total ${totalS.toFixed(0)} s, ${options.short ? 'short' : 'full'} durations)`,
    ...(shared ? [`Note: ${shared}`] : []),
    '',
    table,
    '',
    ...notes.map((note) => `- ${note}`),
  ].join('\n');
  console.log(`\n${text}`);
  if (profiling.dir) console.log(`\n${summarizeProfiles(profiling.dir)}`);
  if (options.writeResults) {
    const file = fileURLToPath(new URL('RESULTS.md', import.meta.url));
    writeFileSync(
      file,
      [
        '# drainwatch benchmark results',
        '',
        'Written by `npm run bench -- --write-results` (see test/bench/README.md for what each line measures).',
        '',
        `- Machine: ${machineText(machine).replace('\n', '\n- ')}`,
        `- Command: \`${command}\` (total ${totalS.toFixed(0)} s, ${options.short ? 'short' : 'full'} durations), ${new Date().toISOString().slice(0, 16)}Z`,
        ...(shared ? [`- Note: ${shared}`] : []),
        '',
        table,
        '',
        '## Notes',
        '',
        ...notes.map((note) => `- ${note}`),
        '',
      ].join('\n'),
    );
    console.error(`wrote ${file}`);
  }
  return rows.some((row) => row.measure === 'scenario failed') ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.on('exit', () => killAll());

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    killAll();
    process.exit(2);
  },
);
