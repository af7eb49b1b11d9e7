// Discovery: the inventory of Conferencing Nodes from one sweep's status and configuration records.

import { formatHost } from '../../config/address.js';
import { nodeAddressProblem } from '../../config/schema.js';
import { isNodeName } from '../../core/names.js';
import type { NodeSpec } from '../../core/verdict.js';
import type { WorkerVmConfiguration, WorkerVmStatus } from './wire.js';

/**
 * Fills a status URL template. Placeholders: `{address}` (IPv6 in brackets), `{port}`, `{name}`,
 * `{hostname}`, `{domain}`, `{fqdn}` (hostname.domain, or the address when either is empty).
 *
 * @example fillTemplate('https://{address}:{port}/api/client/v2/status', { address: '10.0.0.5', port: 443, name: 'px01', hostname: '', domain: '' })
 */
export function fillTemplate(
  template: string,
  values: { address: string; port: number; name: string; hostname: string; domain: string },
): string {
  const host = formatHost(values.address);
  const fqdn = values.hostname && values.domain ? `${values.hostname}.${values.domain}` : host;
  const table: Record<string, string> = {
    address: host,
    port: String(values.port),
    name: encodeURIComponent(values.name),
    hostname: values.hostname || host,
    domain: values.domain,
    fqdn,
  };
  return template.replace(/\{(address|port|name|hostname|domain|fqdn)\}/g, (_m, key: string) => table[key] ?? '');
}

/**
 * One record per name when the Management Node lists a name twice, by one rule for inventory and
 * load alike: the record in maintenance wins (either saying so is enough), otherwise the first.
 * `duplicated` names every name seen more than once.
 *
 * @example uniqueByName([a, aInMaintenance]).records // [aInMaintenance]
 */
export function uniqueByName(statuses: readonly WorkerVmStatus[]): { records: WorkerVmStatus[]; duplicated: string[] } {
  const kept = new Map<string, WorkerVmStatus>();
  const duplicated = new Set<string>();
  for (const status of statuses) {
    const first = kept.get(status.name);
    if (!first) {
      kept.set(status.name, status);
      continue;
    }
    duplicated.add(status.name);
    if (status.maintenance && !first.maintenance) kept.set(status.name, status);
  }
  return { records: [...kept.values()], duplicated: [...duplicated] };
}

export type DiscoveryOptions = { nodePort: number; statusUrlTemplate: string };
export type DiscoveryResult = { nodes: NodeSpec[]; skipped: Array<{ name: string; why: string }> };

/**
 * The inventory from a sweep: CONFERENCING status objects joined on `configuration_id` with the
 * configuration objects for their `address` (and optional port). Objects that cannot be joined are skipped, with why.
 */
export function discoverNodes(
  statuses: readonly WorkerVmStatus[],
  configurations: readonly WorkerVmConfiguration[],
  options: DiscoveryOptions,
): DiscoveryResult {
  const byId = new Map(configurations.map((configuration) => [configuration.id, configuration]));
  const nodes: NodeSpec[] = [];
  const skipped: DiscoveryResult['skipped'] = [];
  const seen = new Set<string>();
  for (const status of statuses) {
    if (status.nodeType.toUpperCase() !== 'CONFERENCING') continue;
    if (!isNodeName(status.name)) {
      skipped.push({ name: status.name, why: 'name is not usable as a node name (letters, digits, ".", "_", "-")' });
      continue;
    }
    if (seen.has(status.name)) {
      skipped.push({ name: status.name, why: 'listed twice' });
      continue;
    }
    const configuration = status.configurationId === null ? undefined : byId.get(status.configurationId);
    if (!configuration) {
      skipped.push({ name: status.name, why: `no configuration object with id ${String(status.configurationId)}` });
      continue;
    }
    const address = configuration.address;
    // The same rule as static nodes: a bad address would reach the NGINX file (failing nginx -t for every node) and the probe URL.
    const problem = nodeAddressProblem(address);
    if (problem) {
      skipped.push({ name: status.name, why: problem });
      continue;
    }
    seen.add(status.name);
    const port = configuration.port ?? options.nodePort;
    nodes.push({
      name: status.name,
      address,
      port,
      statusUrl: fillTemplate(options.statusUrlTemplate, { address, port, name: status.name, hostname: configuration.hostname, domain: configuration.domain }),
      source: 'discovered',
    });
  }
  return { nodes, skipped };
}
