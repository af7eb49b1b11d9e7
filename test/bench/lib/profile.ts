// Reads the V8 .cpuprofile files written under --cpu-prof and lists the functions with the most self time.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

type ProfileNode = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number };
type Profile = { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] };

/** The source path of a call frame, without the bench's build cache and the working directory. */
function sourcePath(url: string): string {
  return url.replace(/^file:\/\//, '').replace(/node_modules\/\.cache\/drainwatch-bench\//, '').replace(`${process.cwd()}/`, '');
}

/** Self-time samples summed per key, as the `count` largest "percent  key" lines. */
function selfTime(profile: Profile, keyOf: (node: ProfileNode) => string, count: number): string[] {
  const hits = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const n = node.hitCount ?? 0;
    if (n === 0) continue;
    total += n;
    const key = keyOf(node);
    hits.set(key, (hits.get(key) ?? 0) + n);
  }
  return [...hits.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, n]) => `${((100 * n) / total).toFixed(1).padStart(5)} %  ${key}`);
}

/** Top self-time entries of one profile, as "percent  function  file:line" lines. */
export function topFunctions(profile: Profile, count = 12): string[] {
  return selfTime(profile, ({ callFrame: { functionName, url, lineNumber } }) => {
    const where = url ? `${sourcePath(url)}:${lineNumber + 1}` : '';
    return `${functionName || '(anonymous)'}  ${where}`.trim();
  }, count);
}

/** Self time grouped by where the code lives: a src/ file, an npm package, node internals, or V8 (GC, idle). */
export function topOrigins(profile: Profile, count = 8): string[] {
  return selfTime(profile, ({ callFrame: { functionName, url } }) => {
    if (!url) return functionName.startsWith('(') ? functionName : '(native)';
    if (url.startsWith('node:')) return 'node internals';
    return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(sourcePath(url))?.[1] ?? sourcePath(url);
  }, count);
}

/** A summary of every profile in `dir` (one per measured window). */
export function summarizeProfiles(dir: string): string {
  const files = readdirSync(dir).filter((file) => file.endsWith('.cpuprofile'));
  if (files.length === 0) return `No CPU profiles were written in ${dir}.`;
  return files
    .map((file) => {
      const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
      return [
        `CPU profile ${join(dir, file)}`,
        '  self time, top functions:',
        ...topFunctions(profile).map((line) => `    ${line}`),
        '  self time by origin:',
        ...topOrigins(profile).map((line) => `    ${line}`),
      ].join('\n');
    })
    .join('\n\n');
}
