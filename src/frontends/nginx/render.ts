// Pure NGINX formatter: verdict snapshot → the `server` lines drainwatch writes into an upstream include file.

import { formatHostPort } from '../../config/address.js';
import { sanitize } from '../../core/text.js';
import { clampWeight } from '../../core/weight.js';
import type { NodeState } from '../../core/verdict.js';
import type { NodeVerdict } from '../../core/snapshot.js';

/** What one node's own verdict made of it; an `unknown` node keeps its previous placement. */
export type Placement = { mode: 'weight'; weight: number; note: string } | { mode: 'down'; note: string };

/** Placements of the previous rendering, by node name (what `unknown` falls back to). */
export type RenderMemory = ReadonlyMap<string, Placement>;

export type RenderUpstreamOptions = {
  /** The upstream name (for the header). */
  upstream: string;
  /** The previous rendering's `memory`; null or absent for the first rendering. */
  previous?: RenderMemory | null;
  /** Time written in the header (epoch ms). Default: now. */
  now?: number;
};

export type UpstreamRendering = {
  upstream: string;
  version: number;
  /** The whole file: header comments, then one line per node. */
  text: string;
  /** Only what NGINX reads (comments and blank lines removed), one directive a line: decides rewrites and reloads. */
  directives: string;
  /** Feed back as `previous` to the next rendering. */
  memory: RenderMemory;
  /** True when no node is ready and draining/unknown (or failing) nodes were kept in service at weight 1. */
  failOpen: boolean;
  /** `server` lines written. */
  servers: number;
  /** `server` lines not marked `down`. */
  usable: number;
  /** Nodes left out or other things an operator must hear about, one sentence each. */
  problems: string[];
};

const MAX_NOTE = 200;

/**
 * Makes text safe inside an NGINX `#` comment: a comment runs to the end of the
 * line, so the only thing that could break out of it is a line break. Control
 * characters (CR, LF, tabs, U+2028/2029, ...) become spaces; the result is one
 * line of at most 200 characters.
 *
 * @example oneLine('down\n}\nserver evil:1;') // 'down } server evil:1;'
 */
export function oneLine(text: string, max = MAX_NOTE): string {
  return sanitize(text, { max, allow: 'line' });
}

/**
 * The `host:port` NGINX reads for a node, or null when the address cannot be written
 * safely. Only host-name, IPv4 and IPv6 characters pass (no spaces, `;`, `{`, `#`,
 * quotes or `$`), so an address can never add a directive; IPv6 goes in brackets
 * (NGINX would read the last `:` group as the port otherwise).
 *
 * @example endpoint('fd00::11', 443) // '[fd00::11]:443'
 */
export function endpoint(address: string, port: number): string | null {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return null;
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (!/^[A-Za-z0-9._:%-]+$/.test(bare)) return null;
  return formatHostPort(bare, port);
}

/** Only the directives of an include file: comments and blank lines dropped, whitespace normalised. */
export function directivesOf(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').replace(/\s+/g, ' ').trim())
    .filter((line) => line.length > 0)
    .join('\n');
}

function ownPlacement(node: NodeVerdict): Placement {
  const reason = oneLine(node.reason);
  switch (node.state) {
    case 'ready':
      return { mode: 'weight', weight: clampWeight(node.weight), note: 'ready' };
    case 'draining':
    case 'maint':
    case 'down':
      return { mode: 'down', note: reason ? `${node.state}: ${reason}` : node.state };
    case 'unknown':
      // Never `down` only for lack of news: in service at the lowest weight until a verdict arrives.
      return { mode: 'weight', weight: 1, note: `unknown (${reason || 'no verdict yet'}): in service at weight 1` };
  }
}

const FAIL_OPEN_FIRST: ReadonlySet<NodeState> = new Set(['draining', 'unknown']);

/*
 * Wire grammar of the rendered file (included inside the operator's own
 * `upstream NAME { ... }` block, in `http` or `stream` context alike):
 *
 *   file        = header *node-line
 *   header      = 1*("# " text LF)                       ; upstream, time, snapshot version, counts
 *   node-line   = server-line / skipped-line
 *   server-line = "server " endpoint " " param ";" " # " name " " note LF
 *   endpoint    = host ":" port                          ; IPv6 host as "[" addr "]"
 *   host        = 1*(ALPHA / DIGIT / "." / "-" / "_" / ":" / "%")
 *   param       = "weight=" 1*3DIGIT                     ; 1..100, ready (or kept in service)
 *               / "down"                                 ; draining, maint, down
 *   skipped-line= "# " name " left out: " text LF        ; an address that cannot be written safely
 *   note, text  = one line without control characters, at most 200 characters
 *
 * Mapping (DESIGN §2): ready W → `weight=W`; draining/maint/down → `down` with the
 * reason; unknown → the node's previous placement, or `weight=1` the first time.
 * If no node is ready, draining and unknown nodes (failing ones when there are
 * none) are kept in service at `weight=1` (fail open): an upstream with every
 * server `down` answers 502 to everyone. Operator `maint` is never failed open.
 */

/**
 * Renders the `server` lines of one upstream from a snapshot.
 *
 * @example
 * const first = renderUpstream(core.snapshot(), { upstream: 'pexip' });
 * first.text;   // "# drainwatch ...\nserver 10.0.1.11:443 weight=100; # px01 ready\n..."
 * const next = renderUpstream(core.snapshot(), { upstream: 'pexip', previous: first.memory });
 */
export function renderUpstream(
  snapshot: { readonly version: number; readonly nodes: readonly NodeVerdict[] },
  options: RenderUpstreamOptions,
): UpstreamRendering {
  const previous = options.previous ?? null;
  const problems: string[] = [];
  const memory = new Map<string, Placement>();
  const rows: { node: NodeVerdict; name: string; endpoint: string | null; placement: Placement }[] = [];

  for (const node of snapshot.nodes) {
    const name = oneLine(node.name, 100) || '(unnamed)';
    const kept = node.state === 'unknown' ? previous?.get(node.name) : undefined;
    const placement = kept ?? ownPlacement(node);
    // Remember the node's own placement, never a fail-open one, so a later unknown does not inherit it.
    memory.set(node.name, placement);
    const where = endpoint(node.address, node.port);
    if (where === null) problems.push(`${name}: address ${JSON.stringify(node.address)} port ${node.port} cannot be written into an NGINX config; node left out`);
    rows.push({ node, name, endpoint: where, placement: kept ? { ...kept, note: `unknown: kept as before (${kept.note})` } : placement });
  }

  const writable = rows.filter((row) => row.endpoint !== null);
  let failOpen = false;
  if (writable.length > 0 && !writable.some((row) => row.node.state === 'ready')) {
    let keep = writable.filter((row) => FAIL_OPEN_FIRST.has(row.node.state));
    if (keep.length === 0) keep = writable.filter((row) => row.node.state === 'down');
    for (const row of keep) {
      const reason = oneLine(row.node.reason);
      row.placement = { mode: 'weight', weight: 1, note: `${row.node.state}${reason ? `: ${reason}` : ''}; FAIL OPEN: no node is ready` };
    }
    failOpen = keep.length > 0;
  }

  const lines: string[] = [];
  const directives: string[] = [];
  let usable = 0;
  for (const row of rows) {
    if (row.endpoint === null) {
      lines.push(`# ${row.name} left out: address cannot be written safely`);
      continue;
    }
    const param = row.placement.mode === 'weight' ? `weight=${row.placement.weight}` : 'down';
    if (row.placement.mode === 'weight') usable += 1;
    const directive = `server ${row.endpoint} ${param};`;
    directives.push(directive);
    lines.push(`${directive} # ${row.name} ${oneLine(row.placement.note)}`);
  }
  if (writable.length > 0 && usable === 0) problems.push('no usable server: every node is in operator maint; NGINX will answer 502');
  if (writable.length === 0) problems.push('no node can be rendered: the include file would leave the upstream empty, which NGINX rejects');

  const at = new Date(options.now ?? Date.now()).toISOString();
  const header = [
    `# drainwatch upstream "${oneLine(options.upstream, 100)}": snapshot version ${snapshot.version}, rendered ${at}`,
    `# Generated file, rewritten on every change: include it inside your own upstream block and do not edit it.`,
    `# ${directives.length} servers, ${usable} in service${failOpen ? '; FAIL OPEN: no node is ready, draining/unknown nodes kept in service at weight 1' : ''}`,
  ];
  return {
    upstream: options.upstream,
    version: snapshot.version,
    text: `${[...header, ...lines].join('\n')}\n`,
    directives: directives.join('\n'),
    memory,
    failOpen,
    servers: directives.length,
    usable,
    problems,
  };
}
