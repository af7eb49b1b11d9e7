// --check-config's loader lists every problem of a file in one run: schema and cross-field mistakes together.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'drainwatch-one-pass-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorsOf(text: string): string[] {
  const result = loadConfigText(text, { baseDir: dir, env: { PATH: '/usr/bin:/bin' } });
  return result.ok ? [] : result.errors;
}

describe('one-pass config check', () => {
  it('lists schema and cross-field mistakes of one file together, each once', () => {
    const text = [
      'nodes:',
      '  - { name: px01, address: 10.0.0.1 }',
      '  - { name: px01, address: 10.0.0.2 }',             // duplicate name (cross-field)
      '  - { name: "px 03", address: 10.0.0.3 }',          // bad name (schema)
      '  - { name: px04, address: "127.0.0.1:41001" }',    // address with a port (schema)
      'probe: { interval: 1s, timeout: 2s, max_age: 5s }', // timeout not below interval (cross-field)
      'policy: { weight_step: 0 }',                        // out of range (schema)
      'http: { admin_token_env: DW_UNSET_TOKEN }',          // missing env var (secret)
      'nginx:',
      '  upstreams:',
      '    - { name: pexip, file: /nonexistent-dir/up.conf, test_command: ["/nonexistent/nginx", "-t"], reload_command: ["true"] }',
      'log: { level: loud }',                              // bad enum (schema)
      'extra: 1',                                          // unknown key (schema)
      '',
    ].join('\n');
    const errors = errorsOf(text);
    expect(errors).toEqual(
      expect.arrayContaining([
        'extra: unknown key "extra" (check its spelling and place against the configuration reference)',
        expect.stringMatching(/^nodes\[2\]\.name: must start with a letter or digit/),
        'nodes[3].address: "127.0.0.1:41001" holds a port; write only the host name or IP and put the port in port:',
        'policy.weight_step: must be a whole number from 1 to 100',
        expect.stringMatching(/^log\.level: must be one of/),
        'nodes[1].name: "px01" is already used by nodes[0]; node names must be unique',
        'probe.timeout: must be shorter than probe.interval (2s is not below 1s)',
        'nginx.upstreams[0].file: directory /nonexistent-dir does not exist',
        'nginx.upstreams[0].test_command: /nonexistent/nginx does not exist or is not an executable file',
        'http.admin_token_env: environment variable DW_UNSET_TOKEN (the admin API token) is not set or empty',
      ]),
    );
    expect(errors).toHaveLength(10);
  });

  it('points one indentation slip at its line with the lines around it, in one message', () => {
    const errors = errorsOf('nodes:\n  - name: px01\n    address: 10.0.0.1\n   port: 443\nprobe:\n  interval: 1s\n');
    expect(errors).toEqual([
      [
        'YAML syntax error at line 4: Sequence item without - indicator',
        '    3 |     address: 10.0.0.1',
        '    4 |    port: 443',
        '      |    ^',
      ].join('\n'),
    ]);
  });

  it('skips only the rules whose inputs are broken: a bad probe section hides no node rule', () => {
    const errors = errorsOf('nodes:\n  - { name: a, address: 10.0.0.1 }\n  - { name: a, address: 10.0.0.2 }\nprobe: { interval: soon }\n');
    expect(errors).toEqual([
      'probe.interval: "soon" is not a duration; write it like 500ms, 2s, 1m or 1h',
      'nodes[1].name: "a" is already used by nodes[0]; node names must be unique',
    ]);
  });

  it('does not call an inventory of bad nodes empty', () => {
    expect(errorsOf('nodes:\n  - { name: px01 }\n')).toEqual(['nodes[0].address: is required']);
  });

  it('reads no secret for offline commands', () => {
    const result = loadConfigText('nodes:\n  - { name: px01, address: 10.0.0.1 }\nhttp: { admin_token_env: DW_UNSET_TOKEN }\n', { env: {}, secrets: false });
    expect(result.ok ? result.secrets : result.errors).toEqual({});
  });
});
