// Who entered maintenance, and when, as seen between Management Node sweeps (the plan's "someone else entered a node within spacing" guard).

/**
 * Follows the Management Node's maintenance flags between sweeps and remembers which nodes turned
 * maintenance on, and when (the "another node entered maintenance within spacing" guard). The first
 * sweep only sets the baseline: nodes already in maintenance did not just enter.
 *
 * @example
 * tracker.observe(new Map([['px03', true]]), sweepAt); tracker.entries(now, 120_000) // [{ name: 'px03', at: sweepAt }]
 */
export class MaintenanceEntries {
  private readonly flags = new Map<string, boolean>();
  private readonly seen: { name: string; at: number }[] = [];

  observe(flags: ReadonlyMap<string, boolean>, at: number): void {
    for (const [name, maintenance] of flags) {
      if (this.flags.get(name) === false && maintenance) this.seen.push({ name, at });
      this.flags.set(name, maintenance);
    }
    for (const name of [...this.flags.keys()]) if (!flags.has(name)) this.flags.delete(name);
  }

  /** One node's flag changed (null: it says nothing now, e.g. the node is down), without walking the others. */
  observeOne(name: string, maintenance: boolean | null, at: number): void {
    if (maintenance === null) {
      this.flags.delete(name);
      return;
    }
    if (this.flags.get(name) === false && maintenance) this.seen.push({ name, at });
    this.flags.set(name, maintenance);
  }

  /** Entries within `windowMs` before `now` (older ones are forgotten). */
  entries(now: number, windowMs: number): { name: string; at: number }[] {
    while (this.seen.length > 0 && (this.seen[0] as { at: number }).at <= now - windowMs) this.seen.shift();
    return this.seen.map((entry) => ({ ...entry }));
  }
}
