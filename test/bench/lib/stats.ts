// Small statistics for the benchmarks: percentiles, a millisecond histogram, /proc readings and number formatting.

import { readFileSync } from 'node:fs';

/** The p-th percentile (0..100) of samples by nearest rank; NaN for no samples. */
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function median(samples: ArrayLike<number>): number {
  return percentile(samples, 50);
}

/**
 * Counts of whole milliseconds, 0..maxMs (larger values land in the last bucket): constant
 * memory, so a measured process does not grow with the number of samples it records.
 */
export class MsHistogram {
  private readonly buckets: Uint32Array;
  count = 0;
  max = 0;

  constructor(maxMs = 60_000) {
    this.buckets = new Uint32Array(maxMs + 1);
  }

  add(ms: number): void {
    const bucket = Math.min(this.buckets.length - 1, Math.max(0, Math.round(ms)));
    this.buckets[bucket] = (this.buckets[bucket] as number) + 1;
    this.count += 1;
    if (ms > this.max) this.max = ms;
  }

  reset(): void {
    this.buckets.fill(0);
    this.count = 0;
    this.max = 0;
  }

  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const target = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i += 1) {
      seen += this.buckets[i] as number;
      if (seen >= target) return i;
    }
    return this.buckets.length - 1;
  }
}

let clockTicks: number | null = null;
/** CPU seconds (user + system) of any process from /proc/<pid>/stat (10 ms resolution), or null. */
export function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    clockTicks ??= 100; // USER_HZ is 100 on every Linux architecture Node supports
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return null;
  }
}

/** Formats a number with a sensible number of digits for a table cell. */
export function fmt(value: number | null | undefined, digits?: number): string {
  if (value === null || value === undefined || Number.isNaN(value)) return 'n/a';
  if (digits !== undefined) return value.toFixed(digits);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

export const mib = (bytes: number): number => bytes / 1024 / 1024;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
