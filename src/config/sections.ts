// Validates a config section by section (nodes one by one), so one bad part hides no problem of another.

import { ConfigSchema, NodeSchema } from './schema.js';
import type { z } from 'zod';
import type { Config } from './schema.js';

/** What parsed: every section that validated; a section absent here had problems of its own. */
export type PartialConfig = { -readonly [K in keyof Config]?: Config[K] };

export type SectionResult = {
  config: PartialConfig;
  /** Index in the file of each entry of `config.nodes` (bad nodes are left out, so they differ). */
  nodeIndex: number[];
  /** How many nodes the file lists, good or bad. */
  nodesInFile: number;
  /** Schema issues, their paths from the top of the file. */
  issues: z.core.$ZodIssue[];
};

type SectionKey = keyof typeof ConfigSchema.shape;

/**
 * Parses each top-level section with its own schema and each node on its own, collecting
 * every issue; unknown top-level keys are issues too.
 *
 * @example
 * const { config, issues } = parseSections(YAML.parse(text));
 * if (config.probe) checkProbeRules(config.probe);
 */
export function parseSections(raw: unknown): SectionResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const whole = ConfigSchema.safeParse(raw);
    return { config: {}, nodeIndex: [], nodesInFile: 0, issues: whole.success ? [] : whole.error.issues };
  }
  const input = raw as Record<string, unknown>;
  const shape = ConfigSchema.shape;
  const config: Record<string, unknown> = {};
  const issues: z.core.$ZodIssue[] = [];
  let nodeIndex: number[] = [];
  const unknown = Object.keys(input).filter((key) => !(key in shape));
  if (unknown.length > 0) {
    issues.push({ code: 'unrecognized_keys', keys: unknown, path: [], message: 'unknown keys', input } as unknown as z.core.$ZodIssue);
  }
  for (const key of Object.keys(shape) as SectionKey[]) {
    const value = input[key];
    if (key === 'nodes' && Array.isArray(value)) {
      // Node by node: the good ones still take part in the rules (duplicate names, empty inventory).
      const nodes: unknown[] = [];
      value.forEach((item, index) => {
        const parsed = NodeSchema.safeParse(item);
        if (parsed.success) {
          nodes.push(parsed.data);
          nodeIndex.push(index);
        } else {
          for (const issue of parsed.error.issues) issues.push({ ...issue, path: ['nodes', index, ...issue.path] });
        }
      });
      config.nodes = nodes;
      continue;
    }
    const parsed = (shape[key] as z.ZodType).safeParse(value);
    if (parsed.success) {
      config[key] = parsed.data;
      if (key === 'nodes') nodeIndex = (parsed.data as unknown[]).map((_, index) => index);
    } else {
      for (const issue of parsed.error.issues) issues.push({ ...issue, path: [key, ...issue.path] });
    }
  }
  return { config: config as PartialConfig, nodeIndex, nodesInFile: Array.isArray(input.nodes) ? input.nodes.length : 0, issues };
}
