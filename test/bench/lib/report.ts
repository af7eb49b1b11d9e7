// The results model every scenario returns, and its rendering as a Markdown table.

import { fmt } from './stats.js';

/** One line of the results table: drainwatch's figure beside its baseline, and the target when there is one. */
export type ResultRow = {
  scenario: string;
  measure: string;
  /** drainwatch's figure (number) or text. */
  drainwatch: number | string | null;
  /** What drainwatch is compared with, e.g. "bare node:net". */
  baselineName?: string;
  baseline?: number | string | null;
  /** drainwatch / baseline, when both are numbers and the ratio means something. */
  ratio?: number | null;
  unit?: string;
  target?: string;
  /** true hit, false miss, undefined: no target on this line. */
  hit?: boolean;
  digits?: number;
};

export type ScenarioResult = {
  rows: ResultRow[];
  /** Sentences worth reading beside the numbers (setup, caveats, why a target was missed). */
  notes: string[];
};

const cell = (value: number | string | null | undefined, digits?: number): string =>
  typeof value === 'number' ? fmt(value, digits) : value === null || value === undefined ? '' : value;

/** The results as a Markdown table (readable as plain text too). */
export function renderTable(rows: readonly ResultRow[]): string {
  const header = ['scenario', 'measure', 'drainwatch', 'baseline', 'ratio', 'target', 'result'];
  const lines = rows.map((row) => [
    row.scenario,
    row.unit ? `${row.measure} (${row.unit})` : row.measure,
    cell(row.drainwatch, row.digits),
    row.baseline === undefined ? '' : `${cell(row.baseline, row.digits)}${row.baselineName ? ` (${row.baselineName})` : ''}`,
    row.ratio === undefined || row.ratio === null ? '' : fmt(row.ratio, 3),
    row.target ?? '',
    row.hit === undefined ? '' : row.hit ? 'hit' : '**MISS**',
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => (line[i] as string).length)));
  const render = (line: string[]) => `| ${line.map((text, i) => text.padEnd(widths[i] as number)).join(' | ')} |`;
  return [render(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(render)].join('\n');
}

/** Ratio of two figures, or null when either is missing or the baseline is zero. */
export function ratio(drainwatch: number | null | undefined, baseline: number | null | undefined): number | null {
  if (drainwatch === null || drainwatch === undefined || baseline === null || baseline === undefined) return null;
  if (!Number.isFinite(drainwatch) || !Number.isFinite(baseline) || baseline === 0) return null;
  return drainwatch / baseline;
}
