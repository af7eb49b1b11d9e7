// Test helpers: a tiny HTTP(S) client with a hard deadline, and simulator cleanup registration.

import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { onTestFinished } from 'vitest';
import { Simulator } from '../../src/simulator/index.js';
import type { SimulatorOptions } from '../../src/simulator/index.js';

export type GetOptions = {
  /** Deadline for the whole exchange, body included (default 5000 ms: CI machines get busy). */
  timeoutMs?: number;
  ca?: string;
  servername?: string;
  headers?: Record<string, string>;
  method?: string;
  body?: string;
};

export type GetResult = { status: number; headers: IncomingHttpHeaders; body: string; bytes: number };

/** One request on a fresh connection; rejects with the socket/abort error (match on `code`). */
export function get(url: string, options: GetOptions = {}): Promise<GetResult> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: options.method ?? 'GET',
        agent: false,
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
        headers: options.headers,
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
        ...(options.servername !== undefined ? { servername: options.servername } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          // Keep memory flat for the 10 MiB body: only the start is interesting.
          if (bytes <= 64 * 1024) chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), bytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Resolves with the error a request fails with (fails the test when it succeeds). */
export async function failure(url: string, options: GetOptions = {}): Promise<{ code?: string; name?: string; message: string }> {
  try {
    const result = await get(url, options);
    throw new Error(`expected a failure, got HTTP ${result.status}`);
  } catch (error) {
    return error as { code?: string; message: string };
  }
}

/** Starts a simulator and registers its teardown with the current test. */
export async function startSim(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await Simulator.start(options);
  onTestFinished(() => sim.destroy());
  return sim;
}

/** The status URL of a node that must exist. */
export function statusUrl(sim: Simulator, name: string): string {
  const node = sim.node(name);
  if (!node) throw new Error(`no node ${name}`);
  return node.statusUrl;
}
