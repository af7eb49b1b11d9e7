// `drainwatch print haproxy`: server lines for the inventory, and clear errors for bad input.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { run } from '../../../src/cli/commands/print-haproxy.js';
import { loadConfigText } from '../../../src/config/load.js';

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  try {
    return { code: await run(argv), out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-print-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.yaml');
  writeFileSync(path, text);
  return path;
}

const CONFIG = `nodes:
  - { name: px01, address: 10.0.1.11 }
  - { name: px02, address: "2001:db8::2", port: 8443 }
haproxy:
  agent: { listen: "10.0.0.5:5555" }
`;

describe('drainwatch print haproxy', () => {
  it('prints agent-mode server lines between the markers the example config uses', async () => {
    const { code, out } = await capture(['haproxy', '--config', configFile(CONFIG)]);
    expect(code).toBe(0);
    expect(out).toMatch(/^ {4}# BEGIN drainwatch servers/);
    expect(out).toContain('    server px01 10.0.1.11:443 agent-send "px01\\n"\n');
    expect(out).toContain('    server px02 [2001:db8::2]:8443 agent-send "px02\\n"\n');
    expect(out).toContain('agent-port 5555');
    expect(out.trimEnd().endsWith('# END drainwatch servers')).toBe(true);
  });

  it('prints push-mode lines without agent-send, with cookies when asked', async () => {
    const { code, out } = await capture(['haproxy', '--config', configFile(CONFIG), '--mode', 'push', '--cookie']);
    expect(code).toBe(0);
    expect(out).toContain('    server px01 10.0.1.11:443 cookie px01\n');
    expect(out).not.toContain('agent');
  });

  it.each([
    [['haproxy'], /--config FILE is required/],
    [['nginx', '--config', 'x'], /only "haproxy" is known/],
    [['haproxy', '--config', 'x', '--mode', 'pull'], /--mode must be agent or push/],
    [['haproxy', '--bogus'], /Unknown option/],
  ])('refuses %j with exit code 2 and a sentence', async (argv, message) => {
    const { code, err } = await capture(argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });

  it('reports an invalid config instead of printing', async () => {
    const { code, err, out } = await capture(['haproxy', '--config', configFile('nodes: 3\n')]);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/is not valid/);
  });
});

describe('haproxy config validation', () => {
  it('rejects a runtime_api socket that is neither a path nor host:port, and a bad backend name', () => {
    const result = loadConfigText(
      'nodes: [{ name: px01, address: 10.0.0.1 }]\nhaproxy:\n  runtime_api:\n    - { socket: admin.sock, backend: "pexip; shutdown" }\n',
      { baseDir: tmpdir(), env: {} },
      'test',
    );
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors.join('\n');
    expect(errors).toMatch(/backend/);
    const socket = loadConfigText(
      'nodes: [{ name: px01, address: 10.0.0.1 }]\nhaproxy:\n  runtime_api:\n    - { socket: admin.sock, backend: pexip }\n',
      { baseDir: tmpdir(), env: {} },
      'test',
    );
    expect(socket.ok ? '' : socket.errors.join('\n')).toMatch(/runtime_api\[0\]\.socket: "admin.sock" is neither a unix socket path/);
  });
});
