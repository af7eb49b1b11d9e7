// Reading `show servers state` back: real HAProxy 2.6 answers (captured), bad answers, and the comparison with verdicts.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { agentProblem, compareServer, describeServer, parseServersState, weightMatches } from '../../../src/frontends/haproxy/servers-state.js';
import type { ServerState } from '../../../src/frontends/haproxy/servers-state.js';
import type { NodeState } from '../../../src/core/verdict.js';

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/haproxy-2.6-servers-state.json', import.meta.url), 'utf8')) as Record<string, string>;

function servers(text: string): Map<string, ServerState> {
  const result = parseServersState(text, 'pexip');
  if (!result.ok) throw new Error(result.reason);
  return new Map(result.servers.map((server) => [server.name, server]));
}

describe('parseServersState on real HAProxy 2.6 answers', () => {
  const agent = servers(fixture.agent!);

  it.each([
    ['px01', 'ready', 'running', 100, 'ready 100%'],
    ['px02', 'drain', 'running', 100, 'drain'],
    ['px03', 'ready', 'running', 33, 'ready 33%'],
    ['px04', 'maint', 'stopped', 100, 'maint'],
    ['px05', 'ready', 'stopped', 100, 'down'],
    ['px06', 'ready', 'running', 10, 'ready 100%'],
    ['px07', 'ready', 'running', 100, 'ready 100%'],
    ['px08', 'maint', 'stopped', 100, 'maint'],
  ] as const)('reads %s as admin %s, %s, weight %d (%s)', (name, admin, opState, weight, text) => {
    const server = agent.get(name)!;
    expect(server).toMatchObject({ admin, opState, weight, backend: 'pexip', address: '127.0.0.1' });
    expect(describeServer(server)).toBe(text);
  });

  it('reads the agent and health check flags by column name', () => {
    expect(agent.get('px01')).toMatchObject({ agentConfigured: true, agentEnabled: true, checkEnabled: true });
    expect(agent.get('px06')).toMatchObject({ agentConfigured: false, agentEnabled: false, initialWeight: 10 });
    expect(agent.get('px07')).toMatchObject({ agentConfigured: false, checkEnabled: false });
  });

  it('sees an agent check disabled by hand and the maintenance set by hand', () => {
    const px01 = servers(fixture.agentDisabledHandMaint!).get('px01')!;
    expect(px01).toMatchObject({ admin: 'maint', adminFlags: 1, agentConfigured: true, agentEnabled: false });
    expect(agentProblem(px01)).toMatch(/agent check disabled/);
  });

  it('names the servers an agent cannot steer', () => {
    expect(agentProblem(agent.get('px01')!)).toBeNull();
    expect(agentProblem(agent.get('px06')!)).toMatch(/no agent-check/);
    expect(agentProblem(agent.get('px08')!)).toMatch(/no agent-check|disabled in the HAProxy config/);
  });

  it('finds columns by name when a version reorders or adds them', () => {
    const text = '1\n# srv_name be_name srv_admin_state srv_op_state srv_uweight srv_iweight srv_addr new_column\npx01 pexip 8 2 100 100 10.0.1.11 x\n\n';
    expect(servers(text).get('px01')).toMatchObject({ admin: 'drain', opState: 'running', address: '10.0.1.11', agentEnabled: null, port: null });
  });

  it('skips rows of other backends', () => {
    const text = '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n2 pexip 1 px01 a 2 0 100 100\n3 other 1 o1 b 2 0 1 1\n\n';
    expect([...servers(text).keys()]).toEqual(['px01']);
  });
});

describe('parseServersState on answers it cannot use', () => {
  const header = '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n';
  it.each([
    ['an unknown backend (real answer)', fixture.unknownBackend!, /no backend "pexip"/],
    ['permission denied (real answer)', fixture.permissionDenied!, /permission denied/],
    ['an empty answer', '', /empty answer/],
    ['garbage', 'HTTP/1.1 400 Bad Request\r\n\r\n', /unexpected answer to show servers state: "HTTP\/1.1 400 Bad Request"/],
    ['binary garbage', '\u0000\u0001\u0002\n\n', /unexpected answer/],
    ['an answer cut off mid-line', `${header}2 pexip 1 px01 10.0`, /incomplete answer/],
    ['a half line', `${header}2 pexip 1 px01 10.0.1.11 2\n\n`, /line 3 has 6 fields, the header names 9/],
    ['no header', '1\n2 pexip 1 px01 a 2 0 100 100\n\n', /no header line/],
    ['a header without the admin state', '1\n# be_name srv_name srv_addr srv_op_state srv_uweight srv_iweight\n\n', /lacks srv_admin_state/],
    ['a word where a number belongs', `${header}2 pexip 1 px01 a 2 drain 100 100\n\n`, /srv_admin_state is "drain", not a number/],
    ['an operational state out of range', `${header}2 pexip 1 px01 a 7 0 100 100\n\n`, /srv_op_state 7/],
  ])('rejects %s with a clear reason', (_what, text, reason) => {
    const result = parseServersState(text, 'pexip');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('tells a missing backend apart from a read failure', () => {
    expect(parseServersState(fixture.unknownBackend!, 'pexip')).toMatchObject({ ok: false, missingBackend: true });
    expect(parseServersState('garbage\n\n', 'pexip')).not.toHaveProperty('missingBackend');
  });

  it('accepts a backend with no servers', () => {
    expect(parseServersState(`${header}\n`, 'pexip')).toEqual({ ok: true, servers: [] });
  });
});

describe('compareServer', () => {
  const agent = servers(fixture.agent!);
  const rows: Array<[NodeState, number, string, boolean]> = [
    ['ready', 100, 'px01', true],
    ['ready', 65, 'px01', false],
    ['ready', 33, 'px03', true],
    ['draining', 100, 'px02', true],
    ['draining', 100, 'px01', false],
    ['maint', 100, 'px04', true],
    ['maint', 100, 'px02', false],
    ['down', 100, 'px05', true],
    ['down', 100, 'px04', true],
    ['down', 100, 'px01', false],
    ['ready', 100, 'px05', false],
    ['ready', 100, 'px04', false],
    ['unknown', 100, 'px04', true],
  ];
  it.each(rows)('a %s verdict (weight %d) against %s matches: %s', (state, weight, name, matches) => {
    expect(compareServer({ state, weight }, agent.get(name)!).matches).toBe(matches);
  });

  it('matches a weight set as a percentage of a configured weight other than 100', () => {
    const px06 = servers(fixture.handAfterAgentRestated!).get('px06')!;
    expect(px06).toMatchObject({ weight: 5, initialWeight: 10 });
    expect(compareServer({ state: 'ready', weight: 50 }, px06)).toEqual({ have: 'ready 50%', matches: true });
    expect(compareServer({ state: 'ready', weight: 100 }, px06).matches).toBe(false);
  });

  it.each([
    [33, 3, 10, true],
    [35, 3, 10, true],
    [40, 3, 10, false],
    [1, 0, 10, true],
    [65, 65, 100, true],
    [65, 64, 100, false],
  ])('weight %d percent matches current %d of configured %d: %s', (percent, weight, initialWeight, matches) => {
    expect(weightMatches(percent, { weight, initialWeight })).toBe(matches);
  });
});
