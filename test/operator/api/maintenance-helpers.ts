// Helpers for the maintenance plan tests: drainwatch with an admin token against the simulator, API calls, bounded waits.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { waitFor } from '../../helpers/service.js';
import { startServiceAgainst } from '../../sources/management/helpers.js';
import type { Simulator } from '../../../src/simulator/index.js';
import type { TestService } from '../../helpers/service.js';

export const ADMIN_TOKEN = 'admin-tok-0123456789';
export const ADMIN_TOKEN_ENV = 'DW_TEST_ADMIN_TOKEN';
process.env[ADMIN_TOKEN_ENV] = ADMIN_TOKEN;

export type PlanJson = { id: string; state: string; waiting_reason: string | null; nodes: { name: string; state: string; calls: number | null; detail: string; drain_ms: number | null }[] };

export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-plan-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** drainwatch against the simulator with an admin token, maintenance writes on unless told otherwise. */
export async function startDrainwatch(sim: Simulator, options: { writes?: boolean; stateFile?: string; policy?: Record<string, unknown>; probe?: Record<string, unknown> } = {}): Promise<TestService> {
  return startServiceAgainst(sim, {
    management: { maintenance_writes: options.writes ?? true },
    policy: { maintenance_spacing: '1m', ...options.policy },
    extra: {
      http: { admin_token_env: ADMIN_TOKEN_ENV },
      ...(options.stateFile ? { state: { file: options.stateFile } } : {}),
      ...(options.probe ? { probe: options.probe } : {}),
    },
  });
}

export async function api(dw: TestService, method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${dw.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export async function plan(dw: TestService): Promise<PlanJson | null> {
  return (await api(dw, 'GET', '/api/v1/maintenance', undefined, null)).json.plan as PlanJson | null;
}

/** Waits until the plan satisfies `check` (bounded). */
export async function planWhere(dw: TestService, check: (p: PlanJson) => boolean, what: string, timeoutMs = 15_000): Promise<PlanJson> {
  let last: PlanJson | null = null;
  try {
    return (await waitFor(async () => {
      last = await plan(dw);
      return last && check(last) ? last : null;
    }, timeoutMs, 50, what)) as PlanJson;
  } catch (error) {
    throw new Error(`${(error as Error).message}; last plan: ${JSON.stringify(last)}`);
  }
}

/** Waits until drainwatch has a sweep (configuration ids) and a verdict for every node. */
export async function ready(dw: TestService, count: number): Promise<void> {
  await waitFor(async () => {
    const res = await fetch(`${dw.url}/api/v1/nodes`);
    const body = (await res.json()) as { nodes: { state: string; calls: number | null }[] };
    return body.nodes.length === count && body.nodes.every((n) => n.state !== 'unknown' && n.calls !== null);
  }, 10_000, 50, 'first verdicts with Management Node data');
}

