// Test helper: start a real drainwatch Service from a config object on loopback port-0 listeners.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { Service } from '../../src/service/service.js';
import { Metrics } from '../../src/operator/metrics/registry.js';
import type { ServiceOptions } from '../../src/service/service.js';

export type TestService = {
  service: Service;
  /** Base URL of the HTTP listener, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Scratch directory for files the config names (removed on close). */
  dir: string;
  close(): Promise<void>;
};

/**
 * Starts a Service. `config` is the YAML config as an object; http.listen and
 * haproxy.agent.listen default to 127.0.0.1:0, logging to silent.
 */
export async function startTestService(
  config: Record<string, unknown>,
  options: ServiceOptions & { env?: NodeJS.ProcessEnv } = {},
): Promise<TestService> {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-test-'));
  const withDefaults = {
    ...config,
    http: { listen: '127.0.0.1:0', ...(config.http as object | undefined) },
    haproxy: { agent: { listen: '127.0.0.1:0' }, ...(config.haproxy as object | undefined) },
    log: { level: 'silent', ...(config.log as object | undefined) },
  };
  const loaded = loadConfigText(stringify(withDefaults), { baseDir: dir, env: options.env ?? process.env }, 'test config');
  if (!loaded.ok) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`test config invalid:\n${loaded.errors.join('\n')}`);
  }
  const service = await Service.start(loaded, { metrics: new Metrics({ processMetrics: false }), ...options });
  const { port } = service.httpAddress();
  return {
    service,
    url: `http://127.0.0.1:${port}`,
    dir,
    async close() {
      await service.close(1000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` every `everyMs` until it returns a truthy value or `timeoutMs` passes (then throws). */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 5000, everyMs = 25, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}
