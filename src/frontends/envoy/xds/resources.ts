// Per-snapshot xDS resources (EDS as REST renders it; CDS/LDS/RDS for proxyless gRPC), each response encoded once.

import { createHash } from 'node:crypto';
import { renderLoadAssignment, resourcesVersion } from '../eds-format.js';
import { TYPE_URLS, encodeJson, messageType } from './protos.js';
import type { ClusterLoadAssignmentJson, EdsShape } from '../eds-format.js';
import type { Snapshot } from '../../../core/snapshot.js';

export type XdsResourceOptions = {
  /** The one EDS cluster served (`envoy.cluster_name`). */
  clusterName: string;
  shape?: EdsShape;
  /** When set, a Listener of this name (and its RouteConfiguration and the Cluster) make `xds:///NAME` work alone. */
  proxyless?: { listener: string } | null;
};

type ResourceJson = { '@type': string; [field: string]: unknown };

/** One DiscoveryResponse for one type and set of names, without its nonce (added per send). */
export type PreparedResponse = {
  readonly typeUrl: string;
  readonly version: string;
  /** Names of the resources carried. */
  readonly names: readonly string[];
  /** Encoded DiscoveryResponse minus the nonce: protobuf fields concatenate, so each send appends one. */
  readonly body: Uint8Array;
  /** EDS only: node name → what the client holds once it accepts this ("HEALTHY 65", "DRAINING"). */
  readonly endpointStates: ReadonlyMap<string, string>;
};

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

/**
 * SotW names: none or "*" ask for everything of the type (legacy wildcard, as REST EDS treats them).
 *
 * @example isWildcard([]) // true
 */
export function isWildcard(names: readonly string[]): boolean {
  return names.length === 0 || names.includes('*');
}

/**
 * The minimal proxyless trio: an API listener whose route sends every call to the EDS cluster,
 * fetched over ADS. `healthy_panic_threshold: 0` is for an Envoy that takes this Cluster over CDS
 * (panic mode would route to draining hosts); gRPC has no panic mode and ignores it.
 *
 * @example proxylessResources('pexip', 'pexip').listener.name // 'pexip'
 */
export function proxylessResources(clusterName: string, listener: string): { cluster: ResourceJson; listener: ResourceJson; route: ResourceJson } {
  const ads = { ads: {}, resource_api_version: 'V3' };
  return {
    cluster: {
      '@type': TYPE_URLS.cluster,
      name: clusterName,
      type: 'EDS',
      eds_cluster_config: { eds_config: ads, service_name: clusterName },
      lb_policy: 'ROUND_ROBIN',
      common_lb_config: { healthy_panic_threshold: { value: 0 } },
    },
    listener: {
      '@type': TYPE_URLS.listener,
      name: listener,
      api_listener: {
        api_listener: {
          '@type': HCM_TYPE,
          stat_prefix: 'drainwatch',
          rds: { route_config_name: listener, config_source: ads },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
        },
      },
    },
    route: {
      '@type': TYPE_URLS.route,
      name: listener,
      virtual_hosts: [{ name: 'drainwatch', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: clusterName } }] }],
    },
  };
}

// Same rule as REST's version (first 16 hex digits of the sha256 of the resources' JSON), for every type.
const versionOf = (typeUrl: string, resources: readonly ResourceJson[]) =>
  typeUrl === TYPE_URLS.endpoint
    ? resourcesVersion(resources as ClusterLoadAssignmentJson[])
    : createHash('sha256').update(JSON.stringify(resources)).digest('hex').slice(0, 16);

/** "HEALTHY 65", "DRAINING", "UNKNOWN 1": the sync model's `have` texts (see wantFor('envoy', ...)). */
function endpointStates(assignment: ClusterLoadAssignmentJson): Map<string, string> {
  const states = new Map<string, string>();
  for (const group of assignment.endpoints) {
    for (const lb of group.lb_endpoints) {
      states.set(lb.endpoint.hostname, lb.load_balancing_weight === undefined ? lb.health_status : `${lb.health_status} ${lb.load_balancing_weight}`);
    }
  }
  return states;
}

const NO_STATES: ReadonlyMap<string, string> = new Map();

/**
 * Every resource drainwatch serves for one snapshot, built lazily, with each distinct response
 * (type + names) encoded once however many streams receive it.
 *
 * @example
 * const catalog = new ResourceCatalog(source.snapshot(), { clusterName: 'pexip' });
 * catalog.response(TYPE_URLS.endpoint, ['pexip']).version // same as REST's version_info
 */
export class ResourceCatalog {
  private readonly byType = new Map<string, Map<string, ResourceJson>>();
  private readonly responses = new Map<string, PreparedResponse>();
  private readonly encoded = new Map<ResourceJson, { type_url: string; value: Uint8Array }>();
  /** Nodes EDS left out (not an IP literal): the caller warns once per name. */
  skipped: readonly string[] = [];

  constructor(readonly snapshot: Snapshot, private readonly options: XdsResourceOptions) {}

  /** The resources of one type by name (empty for types drainwatch does not serve). */
  served(typeUrl: string): ReadonlyMap<string, ResourceJson> {
    let resources = this.byType.get(typeUrl);
    if (resources) return resources;
    resources = new Map();
    const { clusterName, proxyless } = this.options;
    if (typeUrl === TYPE_URLS.endpoint) {
      const rendered = renderLoadAssignment(clusterName, this.snapshot.nodes, this.options.shape ?? {});
      this.skipped = rendered.skipped;
      resources.set(clusterName, rendered.assignment);
    } else if (proxyless) {
      const trio = proxylessResources(clusterName, proxyless.listener);
      if (typeUrl === TYPE_URLS.cluster) resources.set(clusterName, trio.cluster);
      if (typeUrl === TYPE_URLS.listener) resources.set(proxyless.listener, trio.listener);
      if (typeUrl === TYPE_URLS.route) resources.set(proxyless.listener, trio.route);
    }
    this.byType.set(typeUrl, resources);
    return resources;
  }

  /** The response for a subscription: the requested resources drainwatch has (names it lacks are simply absent). */
  response(typeUrl: string, names: readonly string[]): PreparedResponse {
    const served = this.served(typeUrl);
    const wanted = isWildcard(names) ? [...served.keys()] : [...new Set(names)].filter((name) => served.has(name));
    wanted.sort();
    const key = `${typeUrl}\n${wanted.join('\n')}`;
    const cached = this.responses.get(key);
    if (cached) return cached;
    const resources = wanted.map((name) => served.get(name)!);
    const version = versionOf(typeUrl, resources);
    const message = {
      version_info: version,
      resources: resources.map((resource) => this.any(resource)),
      type_url: typeUrl,
      control_plane: { identifier: 'drainwatch' },
    };
    const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
    const states = typeUrl === TYPE_URLS.endpoint && resources[0] ? endpointStates(resources[0] as ClusterLoadAssignmentJson) : NO_STATES;
    const prepared: PreparedResponse = { typeUrl, version, names: wanted, body: type.encode(type.fromObject(message)).finish(), endpointStates: states };
    this.responses.set(key, prepared);
    return prepared;
  }

  private any(resource: ResourceJson): { type_url: string; value: Uint8Array } {
    let any = this.encoded.get(resource);
    if (!any) {
      const typeUrl = resource['@type'];
      any = { type_url: typeUrl, value: encodeJson(typeUrl.slice(typeUrl.lastIndexOf('/') + 1), resource) };
      this.encoded.set(resource, any);
    }
    return any;
  }
}

/**
 * A prepared response with its nonce: the body plus one encoded `nonce` field (DiscoveryResponse field 5).
 *
 * @example withNonce(prepared, '7').length > prepared.body.length
 */
export function withNonce(prepared: PreparedResponse, nonce: string): Buffer {
  const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  return Buffer.concat([prepared.body, type.encode(type.fromObject({ nonce })).finish()]);
}
