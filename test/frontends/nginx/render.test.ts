// Table tests for the pure NGINX upstream renderer (verdicts → `server` lines).

import { describe, expect, it } from 'vitest';
import { directivesOf, endpoint, oneLine, renderUpstream } from '../../../src/frontends/nginx/render.js';
import type { NodeVerdict } from '../../../src/core/snapshot.js';
import type { NodeState } from '../../../src/core/verdict.js';

const AT = Date.parse('2026-01-02T03:04:05.000Z');

function verdict(name: string, state: NodeState, extra: Partial<NodeVerdict> = {}): NodeVerdict {
  return {
    name, address: `10.0.1.${name.slice(2)}`, port: 443, statusUrl: '', source: 'static', state, weight: 100, load: null,
    maintenance: state === 'draining', degraded: false, reason: state === 'ready' ? 'available' : `${state} reason`,
    override: null, calls: null, drainedSince: null, heldByGuard: false, probe: null, since: AT, observedAt: AT, version: 1,
    ...extra,
  };
}

const render = (nodes: NodeVerdict[], previous: ReturnType<typeof renderUpstream>['memory'] | null = null) =>
  renderUpstream({ version: 7, nodes }, { upstream: 'pexip', previous, now: AT });

/** The server lines only (no header), as NGINX reads them. */
const servers = (nodes: NodeVerdict[], previous: ReturnType<typeof renderUpstream>['memory'] | null = null) =>
  render(nodes, previous).directives.split('\n');

describe('renderUpstream', () => {
  it.each([
    ['ready with its weight', verdict('px11', 'ready', { weight: 65 }), 'server 10.0.1.11:443 weight=65;'],
    ['draining as down', verdict('px11', 'draining'), 'server 10.0.1.11:443 down;'],
    ['maint as down', verdict('px11', 'maint'), 'server 10.0.1.11:443 down;'],
    ['down as down', verdict('px11', 'down'), 'server 10.0.1.11:443 down;'],
    ['unknown at weight 1 the first time', verdict('px11', 'unknown'), 'server 10.0.1.11:443 weight=1;'],
    ['an IPv6 address in brackets', verdict('px11', 'ready', { address: 'fd00::11', weight: 100 }), 'server [fd00::11]:443 weight=100;'],
    ['a host name', verdict('px11', 'ready', { address: 'px11.example.com', port: 8443, weight: 5 }), 'server px11.example.com:8443 weight=5;'],
    ['a NaN weight at 1 (never "weight=NaN", which nginx -t rejects)', verdict('px11', 'ready', { weight: Number.NaN }), 'server 10.0.1.11:443 weight=1;'],
    ['a weight above 100 at 100', verdict('px11', 'ready', { weight: 250 }), 'server 10.0.1.11:443 weight=100;'],
    ['a weight of 0 at 1', verdict('px11', 'ready', { weight: 0 }), 'server 10.0.1.11:443 weight=1;'],
  ])('renders %s', (_what, node, line) => {
    // A ready partner keeps fail-open out of the picture.
    const partner = verdict('px99', 'ready', { weight: 100 });
    expect(servers([node, partner])[0]).toBe(line);
  });

  it('writes the reason as a one-line comment after a down line and the node name after every line', () => {
    const { text } = render([verdict('px11', 'ready', { weight: 40 }), verdict('px12', 'draining', { reason: 'Software upgrade' })]);
    expect(text).toContain('server 10.0.1.11:443 weight=40; # px11 ready\n');
    expect(text).toContain('server 10.0.1.12:443 down; # px12 draining: Software upgrade\n');
  });

  it('puts upstream name, snapshot version and time in a comment header', () => {
    const { text } = render([verdict('px11', 'ready')]);
    const header = text.split('\n').slice(0, 3);
    expect(header.every((line) => line.startsWith('# '))).toBe(true);
    expect(header[0]).toBe('# drainwatch upstream "pexip": snapshot version 7, rendered 2026-01-02T03:04:05.000Z');
  });

  it('cannot be made to add directives through a reason or a name', () => {
    const evil = 'maintenance\n}\nserver 6.6.6.6:443 weight=100;\r\nupstream x {\u2028#';
    const rendering = render([
      verdict('px11', 'ready'),
      verdict('px12', 'draining', { reason: evil }),
      verdict('px13', 'down', { name: 'px13\nserver 7.7.7.7:1;' }),
    ]);
    expect(rendering.directives).toBe(['server 10.0.1.11:443 weight=100;', 'server 10.0.1.12:443 down;', 'server 10.0.1.13:443 down;'].join('\n'));
    expect(directivesOf(rendering.text)).toBe(rendering.directives);
    expect(rendering.text.split('\n').filter((line) => line.startsWith('server')).length).toBe(3);
  });

  it.each([
    ['a space', '10.0.0.1 backup'],
    ['a semicolon', '10.0.0.1;server 6.6.6.6'],
    ['a brace', '}'],
    ['a hash', '10.0.0.1#'],
    ['a newline', '10.0.0.1\nserver 6.6.6.6'],
    ['a variable', '$host'],
    ['a quote', '"10.0.0.1"'],
  ])('leaves out a node whose address holds %s, and says so', (_what, address) => {
    const rendering = render([verdict('px11', 'ready'), verdict('px12', 'ready', { address })]);
    expect(rendering.directives).toBe('server 10.0.1.11:443 weight=100;');
    expect(rendering.text).toContain('# px12 left out: address cannot be written safely');
    expect(rendering.problems.join(' ')).toContain('px12');
  });

  it('keeps an unknown node as it was in the previous rendering', () => {
    const first = render([verdict('px11', 'ready', { weight: 35 }), verdict('px12', 'draining'), verdict('px13', 'ready')]);
    const second = render([verdict('px11', 'unknown'), verdict('px12', 'unknown'), verdict('px13', 'ready')], first.memory);
    expect(second.directives.split('\n')).toEqual(['server 10.0.1.11:443 weight=35;', 'server 10.0.1.12:443 down;', 'server 10.0.1.13:443 weight=100;']);
    expect(second.text).toContain('# px12 unknown: kept as before (draining: draining reason)');
    // Still unknown a third time: still kept.
    const third = render([verdict('px11', 'unknown'), verdict('px12', 'unknown'), verdict('px13', 'ready')], second.memory);
    expect(third.directives).toBe(second.directives);
  });

  it('puts an unknown node at its current address even when keeping its previous placement', () => {
    const first = render([verdict('px11', 'ready', { weight: 35 }), verdict('px13', 'ready')]);
    const second = render([verdict('px11', 'unknown', { address: '10.9.9.9' }), verdict('px13', 'ready')], first.memory);
    expect(servers([verdict('px11', 'unknown', { address: '10.9.9.9' }), verdict('px13', 'ready')], first.memory)[0]).toBe('server 10.9.9.9:443 weight=35;');
    expect(second.failOpen).toBe(false);
  });

  it('never renders down for a node only because its verdict is unknown', () => {
    const rendering = render([verdict('px11', 'unknown'), verdict('px12', 'unknown'), verdict('px13', 'ready')]);
    expect(rendering.directives).not.toContain('down');
    expect(rendering.failOpen).toBe(false);
  });

  it.each([
    ['all draining', ['draining', 'draining', 'draining'], ['weight=1', 'weight=1', 'weight=1']],
    ['draining, maint and down', ['draining', 'maint', 'down'], ['weight=1', 'down', 'down']],
    ['unknown and maint', ['unknown', 'maint', 'maint'], ['weight=1', 'down', 'down']],
    ['only failing and maint nodes', ['down', 'maint', 'down'], ['weight=1', 'down', 'weight=1']],
  ] as const)('fails open when no node is ready: %s', (_what, states, params) => {
    const rendering = render(states.map((state, i) => verdict(`px1${i + 1}`, state)));
    expect(rendering.failOpen).toBe(true);
    expect(rendering.usable).toBeGreaterThan(0);
    expect(rendering.directives.split('\n').map((line) => line.split(' ')[2]?.replace(';', ''))).toEqual(params);
    expect(rendering.text).toContain('FAIL OPEN');
  });

  it('fails open with unknown nodes that were previously down when nothing is ready', () => {
    const first = render([verdict('px11', 'draining'), verdict('px12', 'ready')]);
    const second = render([verdict('px11', 'unknown'), verdict('px12', 'maint')], first.memory);
    expect(second.failOpen).toBe(true);
    expect(second.directives).toBe('server 10.0.1.11:443 weight=1;\nserver 10.0.1.12:443 down;');
  });

  it('does not let a fail-open placement leak into the memory an unknown node falls back to', () => {
    const failing = render([verdict('px11', 'draining'), verdict('px12', 'draining')]);
    expect(failing.failOpen).toBe(true);
    const later = render([verdict('px11', 'unknown'), verdict('px12', 'ready')], failing.memory);
    expect(later.directives).toBe('server 10.0.1.11:443 down;\nserver 10.0.1.12:443 weight=100;');
  });

  it('never fails open into operator maint, and says the upstream has no usable server', () => {
    const rendering = render([verdict('px11', 'maint'), verdict('px12', 'maint')]);
    expect(rendering.failOpen).toBe(false);
    expect(rendering.usable).toBe(0);
    expect(rendering.problems.join(' ')).toContain('no usable server');
  });

  it('renders no server line for an empty inventory and reports it', () => {
    const rendering = render([]);
    expect(rendering.servers).toBe(0);
    expect(rendering.directives).toBe('');
    expect(rendering.problems.length).toBe(1);
  });

  it('clamps weights to 1..100', () => {
    expect(servers([verdict('px11', 'ready', { weight: 0 }), verdict('px12', 'ready', { weight: 250 })])).toEqual([
      'server 10.0.1.11:443 weight=1;',
      'server 10.0.1.12:443 weight=100;',
    ]);
  });
});

describe('helpers', () => {
  it.each([
    ['a\nb\r\nc', 'a b c'],
    ['tab\there', 'tab here'],
    ['  lots   of   space ', 'lots of space'],
    ['line\u2028separator', 'line separator'],
    ['x'.repeat(300), `${'x'.repeat(199)}…`],
  ])('oneLine(%j) is %j', (input, output) => {
    expect(oneLine(input)).toBe(output);
  });

  it.each([
    ['10.0.0.1', 443, '10.0.0.1:443'],
    ['[fd00::1]', 443, '[fd00::1]:443'],
    ['fd00::1', 8443, '[fd00::1]:8443'],
    ['node.example.com', 443, 'node.example.com:443'],
    ['10.0.0.1', 0, null],
    ['10.0.0.1', 70000, null],
    ['', 443, null],
    ['a b', 443, null],
  ])('endpoint(%j, %j) is %j', (address, port, expected) => {
    expect(endpoint(address, port)).toBe(expected);
  });

  it('directivesOf drops comments, blank lines and extra spaces', () => {
    expect(directivesOf('# header\n\nserver  a:1   weight=5; # px01\n  server b:2 down;  # why\n')).toBe('server a:1 weight=5;\nserver b:2 down;');
  });
});
