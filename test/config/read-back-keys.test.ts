// Config keys of the closed loop (issue 12): observe[], read intervals, the expected agent interval, Envoy's refresh_delay.

import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';

const NODES = 'nodes:\n  - { name: px01, address: 10.0.1.11 }\n';

describe('read-back configuration', () => {
  it('fills the documented defaults', () => {
    const result = loadConfigText(`${NODES}haproxy:\n  observe:\n    - { socket: /run/haproxy/observe.sock, backend: pexip }\n  runtime_api:\n    - { socket: /run/haproxy/admin.sock, backend: pexip-push }\nnginx:\n  upstreams:\n    - { name: pexip, file: /tmp/pexip-upstream.conf }\n`, { env: {} });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    const { haproxy, envoy, nginx } = result.config;
    expect(haproxy.observe[0]).toMatchObject({ backend: 'pexip', interval: 2000, timeout: 2000, socket: { path: '/run/haproxy/observe.sock' } });
    expect(haproxy.runtime_api[0]).toMatchObject({ read_interval: 2000 });
    expect(haproxy.agent?.expected_interval).toBe(2000);
    expect(envoy.refresh_delay).toBe(1000);
    expect(nginx.upstreams[0]?.read_interval).toBe(2000);
  });

  it.each([
    ['an observe backend listed twice', 'haproxy:\n  observe:\n    - { socket: /s, backend: b }\n    - { socket: /s, backend: b }\n', 'haproxy.observe[1]: backend "b" on /s is listed twice'],
    ['a backend both observed and pushed', 'haproxy:\n  observe:\n    - { socket: /s, backend: b }\n  runtime_api:\n    - { socket: /s, backend: b }\n', 'haproxy.observe[0]: backend "b" on /s is already read back as a haproxy.runtime_api entry'],
    ['an unknown observe key', 'haproxy:\n  observe:\n    - { socket: /s, backend: b, resync_interval: 5s }\n', 'resync_interval'],
    ['a read interval below 100ms', 'haproxy:\n  observe:\n    - { socket: /s, backend: b, interval: 10ms }\n', 'must be at least 100ms'],
  ])('rejects %s with a sentence', (_what, yaml, message) => {
    const result = loadConfigText(`${NODES}${yaml}`, { env: {} });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join('\n')).toContain(message);
  });
});
