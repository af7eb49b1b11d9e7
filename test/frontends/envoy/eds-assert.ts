// Shared assertion: an EDS response parses strictly as a v3 DiscoveryResponse with valid embedded ClusterLoadAssignments.

import { expect } from 'vitest';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE } from '../../../src/frontends/envoy/eds-format.js';
import { envoyLoadAssignmentChecks } from './proto-validator.js';
import type { DiscoveryResponseJson } from '../../../src/frontends/envoy/eds-format.js';
import type { ProtoValidator } from './proto-validator.js';

/** Strict proto check (unknown fields, types, Any URL, PGV rules) plus Envoy's IP-literal rule for EDS endpoints. */
export function expectValidResponse(validator: ProtoValidator, response: unknown): asserts response is DiscoveryResponseJson {
  const result = validator.validate('envoy.service.discovery.v3.DiscoveryResponse', response);
  expect(result.errors).toEqual([]);
  expect(result.warnings).toEqual([]);
  const body = response as DiscoveryResponseJson;
  expect(body.type_url).toBe(CLUSTER_LOAD_ASSIGNMENT_TYPE);
  for (const resource of body.resources) {
    expect(resource['@type']).toBe(CLUSTER_LOAD_ASSIGNMENT_TYPE);
    const { '@type': _type, ...assignment } = resource;
    expect(validator.validate('envoy.config.endpoint.v3.ClusterLoadAssignment', assignment).errors).toEqual([]);
    expect(envoyLoadAssignmentChecks(assignment)).toEqual([]);
  }
}
