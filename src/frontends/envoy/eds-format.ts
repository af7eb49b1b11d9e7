// Pure REST-EDS formatting: verdicts → ClusterLoadAssignment → DiscoveryResponse JSON, and the polling decision.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { clampWeight } from '../../core/weight.js';
import type { NodeState } from '../../core/verdict.js';
import type { NodeVerdict } from '../../core/snapshot.js';
import type { Config } from '../../config/schema.js';

export const CLUSTER_LOAD_ASSIGNMENT_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

export type EdsHealthStatus = 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'UNKNOWN';

export type LbEndpointJson = {
  endpoint: { address: { socket_address: { address: string; port_value: number } }; hostname: string };
  health_status: EdsHealthStatus;
  load_balancing_weight?: number;
};

export type LocalityJson = { region: string; zone?: string; sub_zone?: string };

/** One endpoint group: gRPC's xDS client NACKs a group without `locality` and drops one without a weight. */
export type LocalityLbEndpointsJson = { locality: LocalityJson; load_balancing_weight: number; lb_endpoints: LbEndpointJson[] };

export type ClusterLoadAssignmentJson = {
  '@type': typeof CLUSTER_LOAD_ASSIGNMENT_TYPE;
  cluster_name: string;
  endpoints: LocalityLbEndpointsJson[];
};

/**
 * How endpoints are grouped (config `envoy.locality` and `envoy.grpc.weights`):
 * - `endpoint` (default): one locality holding every node, weights on the endpoints. Envoy honours
 *   endpoint weights under ROUND_ROBIN and LEAST_REQUEST; gRPC's round robin ignores them.
 * - `locality_per_node`: one locality per node (`sub_zone` = node name) carrying the node's weight,
 *   so gRPC clients, which honour locality weights, spread load by spare capacity too.
 */
export type EdsShape = {
  locality?: { region?: string; zone?: string; sub_zone?: string };
  weights?: 'endpoint' | 'locality_per_node';
};

export const DEFAULT_REGION = 'drainwatch';

/**
 * The shape both EDS doors render from the config (REST and gRPC must agree, so their versions do).
 *
 * @example renderLoadAssignment('pexip', nodes, edsShapeOf(config))
 */
export function edsShapeOf(config: Config): EdsShape {
  return { locality: config.envoy.locality, weights: config.envoy.grpc?.weights ?? 'endpoint' };
}

// Empty fields are left out, as proto3 JSON does, so the hash (and version) stays the same either way.
function localityJson(shape: EdsShape, subZone?: string): LocalityJson {
  const locality: LocalityJson = { region: shape.locality?.region || DEFAULT_REGION };
  if (shape.locality?.zone) locality.zone = shape.locality.zone;
  const sub = subZone ?? shape.locality?.sub_zone;
  if (sub) locality.sub_zone = sub;
  return locality;
}

export type DiscoveryResponseJson = {
  version_info: string;
  resources: ClusterLoadAssignmentJson[];
  type_url: typeof CLUSTER_LOAD_ASSIGNMENT_TYPE;
  nonce: string;
  control_plane: { identifier: string };
};

/** The parts of a DiscoveryRequest drainwatch reads (proto3 JSON accepts both snake_case and lowerCamelCase names). */
export type DiscoveryRequest = {
  versionInfo: string;
  resourceNames: string[];
  typeUrl: string;
  responseNonce: string;
  nodeId: string;
  /** google.rpc.Status of a NACK, or null for an ACK / first request. */
  errorDetail: { code: number; message: string } | null;
};

/**
 * EDS wire mapping of DESIGN §2 (one lb_endpoint per node):
 *
 *   ready    → health_status HEALTHY,   load_balancing_weight W (1..100)
 *   draining → health_status DRAINING   (no weight: not picked for new streams;
 *                                        override_host_status may keep sticky sessions)
 *   maint    → health_status UNHEALTHY
 *   down     → health_status UNHEALTHY
 *   unknown  → health_status UNKNOWN,   load_balancing_weight 1
 *
 * Envoy treats UNKNOWN like HEALTHY, so an unknown node keeps serving (fail open) but with the
 * smallest weight, so nodes with a fresh `ready` verdict are preferred. A weight is never sent
 * for excluded hosts: it would only churn `version_info` as their load moves.
 */
export function edsEndpointStatus(state: NodeState, weight: number): Pick<LbEndpointJson, 'health_status' | 'load_balancing_weight'> {
  switch (state) {
    case 'ready':
      // clampWeight never gives 0: Envoy rejects the whole update when one weight is 0 (PGV uint32 gte 1).
      return { health_status: 'HEALTHY', load_balancing_weight: clampWeight(weight) };
    case 'draining':
      return { health_status: 'DRAINING' };
    case 'maint':
    case 'down':
      return { health_status: 'UNHEALTHY' };
    case 'unknown':
      return { health_status: 'UNKNOWN', load_balancing_weight: 1 };
  }
}

export type RenderedAssignment = {
  assignment: ClusterLoadAssignmentJson;
  /** Nodes left out because their address is not an IP literal (EDS addresses must be IPs). */
  skipped: string[];
};

/**
 * Renders the ClusterLoadAssignment for one cluster; endpoints sorted by node name so every
 * drainwatch replica renders byte-identical JSON for the same verdicts.
 *
 * @example
 * renderLoadAssignment('pexip', snapshot.nodes, { locality: { region: 'eu-west' } }).assignment.endpoints[0].lb_endpoints.length
 */
export function renderLoadAssignment(clusterName: string, nodes: readonly NodeVerdict[], shape: EdsShape = {}): RenderedAssignment {
  const skipped: string[] = [];
  const lbEndpoints: LbEndpointJson[] = [];
  for (const node of [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const address = node.address.startsWith('[') && node.address.endsWith(']') ? node.address.slice(1, -1) : node.address;
    if (isIP(address) === 0 || !Number.isInteger(node.port) || node.port < 1 || node.port > 65_535) {
      skipped.push(node.name);
      continue;
    }
    lbEndpoints.push({
      endpoint: { address: { socket_address: { address, port_value: node.port } }, hostname: node.name },
      ...edsEndpointStatus(node.state, node.weight),
    });
  }
  // Excluded hosts weigh 1 in their own locality: PGV wants >= 1, and gRPC skips a locality with no usable endpoint.
  const endpoints: LocalityLbEndpointsJson[] =
    shape.weights === 'locality_per_node'
      ? lbEndpoints.map((lb) => ({ locality: localityJson(shape, lb.endpoint.hostname), load_balancing_weight: lb.load_balancing_weight ?? 1, lb_endpoints: [lb] }))
      : lbEndpoints.length > 0
        ? [{ locality: localityJson(shape), load_balancing_weight: 1, lb_endpoints: lbEndpoints }]
        : []; // An empty locality list is valid and tells Envoy the cluster has no hosts.
  return { assignment: { '@type': CLUSTER_LOAD_ASSIGNMENT_TYPE, cluster_name: clusterName, endpoints }, skipped };
}

/**
 * The version of a set of resources: a hash of their JSON, so it changes exactly when what is
 * carried changes (not on every snapshot version), and replicas agree without talking to each other.
 */
export function resourcesVersion(resources: readonly ClusterLoadAssignmentJson[]): string {
  return createHash('sha256').update(JSON.stringify(resources)).digest('hex').slice(0, 16);
}

/** Wraps resources in a DiscoveryResponse (snake_case proto JSON; nonce = version so NACKs name what they reject). */
export function discoveryResponse(resources: ClusterLoadAssignmentJson[]): DiscoveryResponseJson {
  const version = resourcesVersion(resources);
  return {
    version_info: version,
    resources,
    type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE,
    nonce: version,
    control_plane: { identifier: 'drainwatch' },
  };
}

const REQUEST_FIELDS: Record<string, string> = {
  version_info: 'versionInfo', versionInfo: 'versionInfo',
  node: 'node',
  resource_names: 'resourceNames', resourceNames: 'resourceNames',
  resource_locators: 'resourceLocators', resourceLocators: 'resourceLocators',
  type_url: 'typeUrl', typeUrl: 'typeUrl',
  response_nonce: 'responseNonce', responseNonce: 'responseNonce',
  error_detail: 'errorDetail', errorDetail: 'errorDetail',
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Validates a DiscoveryRequest decoded from JSON. Unknown top-level fields and wrong types are
 * errors (a typo in a hand-written request should not be silently ignored); `node` is only
 * checked to be an object with a string `id` when present.
 *
 * @example parseDiscoveryRequest({ resource_names: ['pexip'] }) // { ok: true, request: {...} }
 */
export function parseDiscoveryRequest(body: unknown): { ok: true; request: DiscoveryRequest } | { ok: false; error: string } {
  if (!isObject(body)) return { ok: false, error: 'the body must be a JSON object (a DiscoveryRequest)' };
  const seen = new Map<string, unknown>();
  for (const [key, value] of Object.entries(body)) {
    const field = REQUEST_FIELDS[key];
    if (!field) return { ok: false, error: `unknown DiscoveryRequest field "${key}"` };
    if (seen.has(field)) return { ok: false, error: `field "${key}" is given twice (snake_case and camelCase)` };
    seen.set(field, value);
  }
  const text = (field: string, name: string): string | { error: string } => {
    const value = seen.get(field);
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? value : { error: `"${name}" must be a string` };
  };
  const versionInfo = text('versionInfo', 'version_info');
  const typeUrl = text('typeUrl', 'type_url');
  const responseNonce = text('responseNonce', 'response_nonce');
  for (const value of [versionInfo, typeUrl, responseNonce]) if (typeof value !== 'string') return { ok: false, error: value.error };
  if (typeUrl !== '' && typeUrl !== CLUSTER_LOAD_ASSIGNMENT_TYPE) {
    return { ok: false, error: `"type_url" must be ${CLUSTER_LOAD_ASSIGNMENT_TYPE} on this endpoint (got "${typeUrl as string}")` };
  }
  const names = seen.get('resourceNames') ?? [];
  if (names !== null && (!Array.isArray(names) || !names.every((name) => typeof name === 'string'))) {
    return { ok: false, error: '"resource_names" must be a list of strings' };
  }
  if (seen.get('resourceLocators') !== undefined && !Array.isArray(seen.get('resourceLocators'))) {
    return { ok: false, error: '"resource_locators" must be a list' };
  }
  const node = seen.get('node');
  let nodeId = '';
  if (node !== undefined && node !== null) {
    if (!isObject(node)) return { ok: false, error: '"node" must be an object' };
    if (node.id !== undefined && typeof node.id !== 'string') return { ok: false, error: '"node.id" must be a string' };
    nodeId = typeof node.id === 'string' ? node.id : '';
  }
  const detail = seen.get('errorDetail');
  let errorDetail: DiscoveryRequest['errorDetail'] = null;
  if (detail !== undefined && detail !== null) {
    if (!isObject(detail)) return { ok: false, error: '"error_detail" must be an object (google.rpc.Status)' };
    const code = detail.code ?? 0;
    const message = detail.message ?? '';
    if (typeof code !== 'number' || !Number.isInteger(code)) return { ok: false, error: '"error_detail.code" must be an integer' };
    if (typeof message !== 'string') return { ok: false, error: '"error_detail.message" must be a string' };
    errorDetail = { code, message };
  }
  return {
    ok: true,
    request: {
      versionInfo: versionInfo as string,
      resourceNames: (names ?? []) as string[],
      typeUrl: typeUrl as string,
      responseNonce: responseNonce as string,
      nodeId,
      errorDetail,
    },
  };
}

export type EdsResult = 'update' | 'unchanged' | 'other_cluster' | 'nack';

export type EdsAnswer = {
  /** Metric label. */
  result: EdsResult;
  /** 200 with `body`, or 304 Not Modified (Envoy's REST fetcher keeps its config and polls again). */
  status: 200 | 304;
  body: DiscoveryResponseJson | null;
  version: string;
  /** Requested names this server does not serve (a configuration mistake worth a warning). */
  otherNames: string[];
};

/**
 * Decides the answer to one REST poll (xDS REST-JSON rules):
 * - resources: only requested ones are sent — ours when `resource_names` is empty (legacy
 *   wildcard), contains "*" or our cluster name; other names are not served (an empty resource
 *   list: SotW has no "does not exist" signal, and Envoy rejects a load assignment it did not ask for);
 * - `version_info` equal to the current version → 304 (nothing changed; no needless update);
 * - `error_detail` present (NACK) → logged by the caller; 304 when what was rejected (named by
 *   `response_nonce`, which is our version) is still what we would send, else the new content.
 *
 * @example answerDiscoveryRequest(request, 'pexip', () => renderLoadAssignment('pexip', nodes).assignment)
 */
export function answerDiscoveryRequest(
  request: DiscoveryRequest,
  clusterName: string,
  assignment: () => ClusterLoadAssignmentJson,
  respond: (resources: ClusterLoadAssignmentJson[]) => DiscoveryResponseJson = discoveryResponse,
): EdsAnswer {
  const names = request.resourceNames;
  const wantsOurs = names.length === 0 || names.includes('*') || names.includes(clusterName);
  const otherNames = names.filter((name) => name !== clusterName && name !== '*');
  const response = respond(wantsOurs ? [assignment()] : []);
  const version = response.version_info;
  const result: EdsResult = request.errorDetail ? 'nack' : wantsOurs ? 'update' : 'other_cluster';
  const unchanged = request.versionInfo === version || (request.errorDetail !== null && request.responseNonce === version);
  if (unchanged) return { result: result === 'update' ? 'unchanged' : result, status: 304, body: null, version, otherNames };
  return { result, status: 200, body: response, version, otherNames };
}
