// The Envoy front-ends: active health checks answered per node, REST EDS and gRPC xDS (the service lists these factories).

import { createEnvoyEds } from './eds-routes.js';
import { createEnvoyHealth } from './health-routes.js';
import { createEnvoyGrpc } from './xds/index.js';

export { createEnvoyEds } from './eds-routes.js';
export { createEnvoyHealth } from './health-routes.js';
export { createEnvoyGrpc } from './xds/index.js';

/**
 * Every Envoy front-end factory, in start order; the service concatenates each load balancer's list.
 *
 * @example const frontends = [...HAPROXY_FRONTENDS, ...NGINX_FRONTENDS, ...ENVOY_FRONTENDS];
 */
export const ENVOY_FRONTENDS = [createEnvoyHealth, createEnvoyEds, createEnvoyGrpc] as const;
