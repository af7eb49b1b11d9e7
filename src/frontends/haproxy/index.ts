// The HAProxy front-ends: the agent-check server and runtime-API push mode (the service lists these factories).

import { createHaproxyAgent } from './agent-server.js';
import { createHaproxyRuntime } from './runtime-pusher.js';
import { createHaproxyObserve } from './read-back.js';

export { createHaproxyAgent } from './agent-server.js';
export type { HaproxyAgentFrontend } from './agent-server.js';
export { createHaproxyRuntime } from './runtime-pusher.js';
export { createHaproxyObserve } from './read-back.js';

/**
 * Every HAProxy front-end factory, in start order; the service concatenates each load balancer's list.
 *
 * @example const frontends = [...HAPROXY_FRONTENDS, ...ENVOY_FRONTENDS, ...NGINX_FRONTENDS];
 */
export const HAPROXY_FRONTENDS = [createHaproxyAgent, createHaproxyRuntime, createHaproxyObserve] as const;
