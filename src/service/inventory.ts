// The node inventory the service probes: the config's static nodes plus what discovery found (static names win).

import type { Config } from '../config/schema.js';
import type { NodeSpec } from '../core/verdict.js';

/**
 * The static inventory of a config as node specs.
 *
 * @example staticNodes(config) // [{ name: 'px01', address: '10.0.1.11', port: 443, statusUrl: 'https://…', source: 'static' }]
 */
export function staticNodes(config: Config): NodeSpec[] {
  return config.nodes.map((node) => ({
    name: node.name,
    address: node.address,
    port: node.port,
    // The schema fills in the default status URL, so it is always set after loading.
    statusUrl: node.status_url as string,
    source: 'static' as const,
  }));
}

/**
 * Static nodes first (in config order), then discovered ones whose names no static node uses:
 * an operator's explicit entry is never overridden by what the Management Node lists.
 *
 * @example mergeInventory(staticNodes(config), discovered).map((n) => n.name) // ['px01', 'px07', 'px08']
 */
export function mergeInventory(statics: readonly NodeSpec[], discovered: readonly NodeSpec[]): NodeSpec[] {
  const names = new Set(statics.map((node) => node.name));
  return [...statics, ...discovered.filter((node) => !names.has(node.name))];
}

/**
 * True when two node lists are the same nodes in the same order with the same fields
 * (a discovery sweep that found nothing new must not publish a new snapshot version).
 *
 * @example sameNodes(previous, sweep.discovered) // true: nothing to apply
 */
export function sameNodes(a: readonly NodeSpec[], b: readonly NodeSpec[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((node, i) => {
    const other = b[i] as NodeSpec;
    return node.name === other.name && node.address === other.address && node.port === other.port && node.statusUrl === other.statusUrl && node.source === other.source;
  });
}
