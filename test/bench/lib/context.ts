// What every scenario receives from the harness: run mode, time scaling and a place to register cleanup.

export type BenchContext = {
  /** Quick run: a few seconds per measurement instead of the full durations. */
  short: boolean;
  /** Progress lines (stderr), so the final table stays clean on stdout. */
  log(message: string): void;
  /** Registers cleanup to run when the scenario ends, even on failure (last registered runs first). */
  defer(cleanup: () => Promise<void> | void): void;
  /** Cores available; measured servers are pinned to core `measuredCore`, load generators to `loadCore`. */
  measuredCore: number;
  loadCore: number;
};

export type Scenario = {
  name: string;
  title: string;
  /** Upper bound on the scenario's own time; the harness aborts it past this. */
  budgetMs: number;
  run(context: BenchContext): Promise<import('./report.js').ScenarioResult>;
};
