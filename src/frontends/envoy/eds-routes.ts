// Envoy REST EDS: POST /v3/discovery:endpoints answers a DiscoveryResponse built from the current snapshot.

import { LRUCache } from 'lru-cache';
import { readCappedBody } from '../../operator/http/read-body.js';
import { answerDiscoveryRequest, discoveryResponse, edsShapeOf, parseDiscoveryRequest, renderLoadAssignment } from './eds-format.js';
import { RestClients } from './rest-clients.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { ClusterLoadAssignmentJson, DiscoveryResponseJson } from './eds-format.js';
import type { Frontend, FrontendContext } from '../frontend.js';

export const EDS_PATH = '/v3/discovery:endpoints';

/** A response and its JSON text, built once per snapshot. */
type Prepared = { response: DiscoveryResponseJson; body: Uint8Array<ArrayBuffer> };

/**
 * Registers the REST EDS route. Each poll reads the current snapshot, so a verdict change is in
 * the very next response; the rendering is cached per snapshot and cluster name.
 *
 * @example
 * // Envoy: eds_config.api_config_source { api_type: REST, cluster_names: [drainwatch], refresh_delay: 1s }
 * createEnvoyEds(context);
 */
export function createEnvoyEds(context: FrontendContext): Frontend {
  const { app, source, logger, metrics } = context;
  const restClients = context.sync ? new RestClients({ sync: context.sync, refreshDelayMs: () => context.config().envoy.refresh_delay }) : null;
  // "Log once per name" memories, bounded: cluster names come from clients and could be anything.
  const warnedNames = new LRUCache<string, true>({ max: 1024 });
  const warnedSkipped = new LRUCache<string, true>({ max: 1024 });
  // Keyed by version, not by snapshot object: fresher observation times make new snapshot objects at the
  // same version, and EDS output never carries them.
  let cache: { version: number; cluster: string; shape: string; assignment: ClusterLoadAssignmentJson } | null = null;
  // Hashing and serialising a 1,000-endpoint response costs milliseconds: do it once per version, not per poll.
  let responses: { version: number; cluster: string; full?: Prepared; empty?: Prepared } | null = null;

  const prepared = (snapshot: Snapshot, cluster: string, resources: ClusterLoadAssignmentJson[]): Prepared => {
    if (!responses || responses.version !== snapshot.version || responses.cluster !== cluster) responses = { version: snapshot.version, cluster };
    const key = resources.length > 0 ? 'full' : 'empty';
    const existing = responses[key];
    // A reload that changes the locality shape renders a new assignment at the same version.
    if (existing && existing.response.resources[0] === resources[0]) return existing;
    const response = discoveryResponse(resources);
    // Encoded once: writing a 158 KiB string makes Node re-encode it on every response.
    return (responses[key] = { response, body: new TextEncoder().encode(JSON.stringify(response)) });
  };

  const assignmentFor = (snapshot: Snapshot, cluster: string): ClusterLoadAssignmentJson => {
    // The same locality shape as gRPC xDS, so both doors carry the same version for the same verdicts.
    const shape = edsShapeOf(context.config());
    const shapeKey = JSON.stringify(shape);
    if (cache && cache.version === snapshot.version && cache.cluster === cluster && cache.shape === shapeKey) return cache.assignment;
    const rendered = renderLoadAssignment(cluster, snapshot.nodes, shape);
    for (const name of rendered.skipped) {
      if (warnedSkipped.has(name)) continue;
      warnedSkipped.set(name, true);
      logger.warn({ node: name }, 'node left out of EDS: Envoy needs an IP address (not a host name) and a port from 1 to 65535');
    }
    cache = { version: snapshot.version, cluster, shape: shapeKey, assignment: rendered.assignment };
    return rendered.assignment;
  };

  app.post(EDS_PATH, async (c) => {
    const config = context.config();
    const body = await readCappedBody(c.req.raw, config.http.body_limit);
    if (!body.ok) {
      metrics.edsRequests.inc({ result: 'bad_request' });
      return c.text(`${body.error}\n`, body.status);
    }
    let json: unknown;
    try {
      json = JSON.parse(body.text);
    } catch (error) {
      metrics.edsRequests.inc({ result: 'bad_request' });
      return c.text(`the body is not JSON: ${(error as Error).message}\n`, 400);
    }
    const parsed = parseDiscoveryRequest(json);
    if (!parsed.ok) {
      metrics.edsRequests.inc({ result: 'bad_request' });
      return c.text(`malformed DiscoveryRequest: ${parsed.error}\n`, 400);
    }
    const request = parsed.request;
    const cluster = config.envoy.cluster_name;
    const snapshot = source.published();
    let responseBody = new Uint8Array(0);
    const answer = answerDiscoveryRequest(request, cluster, () => assignmentFor(snapshot, cluster), (resources) => {
      const ready = prepared(snapshot, cluster, resources);
      responseBody = ready.body;
      return ready.response;
    });
    metrics.edsRequests.inc({ result: answer.result });

    // Envoy's REST client never sends error_detail or a nonce: a rejected response shows up only
    // as a version that does not advance, which the read-back below reports (issue 12).
    if (wantsCluster(request.resourceNames, cluster)) {
      restClients?.polled({ nodeId: request.nodeId, cluster, applied: request.versionInfo, current: answer.version, snapshot });
    }
    const fresh = answer.otherNames.filter((name) => !warnedNames.has(name));
    if (fresh.length > 0) {
      for (const name of fresh) warnedNames.set(name, true);
      logger.warn(
        { envoy_node: request.nodeId, requested: fresh, served: cluster },
        'Envoy asked EDS for clusters drainwatch does not serve; check eds_cluster_config.service_name against envoy.cluster_name',
      );
    }
    if (answer.status === 304) return c.body(null, 304, { 'x-drainwatch-version': answer.version });
    return c.body(responseBody, 200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-drainwatch-version': answer.version });
  });

  return { name: 'envoy-eds', close: async () => undefined, destroy: async () => undefined };
}

/** True when a request asks for the cluster drainwatch serves (empty list = legacy wildcard, "*", or its name). */
function wantsCluster(names: readonly string[], cluster: string): boolean {
  return names.length === 0 || names.includes('*') || names.includes(cluster);
}
