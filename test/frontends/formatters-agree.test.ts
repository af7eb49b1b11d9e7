// One snapshot through all four formatters (HAProxy agent reply, Envoy health, EDS, NGINX): states and weights must agree.

import { describe, expect, it } from 'vitest';
import { formatAgentReply } from '../../src/frontends/haproxy/reply.js';
import { healthAnswer, UNKNOWN_STATUS } from '../../src/frontends/envoy/health-answer.js';
import { renderLoadAssignment } from '../../src/frontends/envoy/eds-format.js';
import { renderUpstream } from '../../src/frontends/nginx/render.js';
import { verdict } from './envoy/fixtures.js';
import type { NodeState } from '../../src/core/verdict.js';

/** What every load balancer must be told for one row: in service with a weight, or not. */
type Expected = { admitted: 'weight'; weight: number } | { admitted: 'no'; state: Exclude<NodeState, 'ready' | 'unknown'> } | { admitted: 'unknown' };

const rows: Array<[name: string, state: NodeState, weight: number, expected: Expected]> = [
  ['ready-full', 'ready', 100, { admitted: 'weight', weight: 100 }],
  ['ready-65', 'ready', 65, { admitted: 'weight', weight: 65 }],
  ['ready-fraction', 'ready', 64.6, { admitted: 'weight', weight: 65 }],
  ['ready-min', 'ready', 1, { admitted: 'weight', weight: 1 }],
  ['ready-zero', 'ready', 0, { admitted: 'weight', weight: 1 }],
  ['ready-negative', 'ready', -20, { admitted: 'weight', weight: 1 }],
  ['ready-above', 'ready', 250, { admitted: 'weight', weight: 100 }],
  ['ready-nan', 'ready', Number.NaN, { admitted: 'weight', weight: 1 }],
  ['ready-infinite', 'ready', Number.POSITIVE_INFINITY, { admitted: 'weight', weight: 1 }],
  ['draining', 'draining', 40, { admitted: 'no', state: 'draining' }],
  ['maint', 'maint', 100, { admitted: 'no', state: 'maint' }],
  ['down', 'down', 100, { admitted: 'no', state: 'down' }],
  ['unknown', 'unknown', 100, { admitted: 'unknown' }],
];

const nodes = rows.map(([name, state, weight]) => verdict(name, state, { weight, reason: `${name} reason` }));
const snapshot = { version: 7, nodes };
const eds = new Map(renderLoadAssignment('pexip', nodes).assignment.endpoints.flatMap((group) => group.lb_endpoints).map((lb) => [lb.endpoint.hostname, lb]));
const nginx = renderUpstream(snapshot, { upstream: 'pexip', now: 0 });
const nginxLine = (name: string) => nginx.text.split('\n').find((line) => line.endsWith(` # ${name}`) || line.includes(` # ${name} `)) ?? '';

describe('the four formatters on one snapshot', () => {
  it('renders every node everywhere (the rows below have something to compare)', () => {
    expect(eds.size).toBe(rows.length);
    expect(nginx.servers).toBe(rows.length);
    expect(nginx.failOpen).toBe(false);
  });

  it.each(rows)('agree on %s (%s, weight %d)', (name, _state, _weight, expected) => {
    const node = nodes.find((each) => each.name === name)!;
    const agent = formatAgentReply(node);
    const health = healthAnswer(node);
    const endpoint = eds.get(name)!;
    const line = nginxLine(name);

    switch (expected.admitted) {
      case 'weight': {
        const weights = {
          agent: Number(/^up ready (\d+)%\n$/.exec(agent)?.[1]),
          health: health.status === 200 ? Number(/ weight (\d+)/.exec(health.body)?.[1]) : Number.NaN,
          eds: endpoint.health_status === 'HEALTHY' ? endpoint.load_balancing_weight : Number.NaN,
          nginx: Number(/ weight=(\d+);/.exec(line)?.[1]),
        };
        expect(weights).toEqual({ agent: expected.weight, health: expected.weight, eds: expected.weight, nginx: expected.weight });
        break;
      }
      case 'no': {
        const told = {
          agent: agent.split(' #')[0],
          health: [health.status, health.headers['x-envoy-immediate-health-check-fail'] ?? null],
          eds: [endpoint.health_status, endpoint.load_balancing_weight ?? null],
          nginx: / down;/.test(line),
        };
        const want = {
          draining: { agent: 'up drain', health: [503, 'true'], eds: ['DRAINING', null], nginx: true },
          maint: { agent: 'up maint', health: [503, 'true'], eds: ['UNHEALTHY', null], nginx: true },
          down: { agent: 'down', health: [503, null], eds: ['UNHEALTHY', null], nginx: true },
        }[expected.state];
        expect(told).toEqual(want);
        break;
      }
      case 'unknown':
        // No news: HAProxy changes nothing, Envoy retries, EDS and a first NGINX rendering keep it at weight 1.
        expect({ agent, health: health.status, eds: [endpoint.health_status, endpoint.load_balancing_weight], nginx: / weight=1;/.test(line) })
          .toEqual({ agent: '\n', health: UNKNOWN_STATUS, eds: ['UNKNOWN', 1], nginx: true });
        break;
    }
  });
});
