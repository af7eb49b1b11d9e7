// Benchmark worker: HTTP load with autocannon (keep-alive connections), in its own process.

import { createRequire } from 'node:module';
import { selfUsage, serve } from '../lib/rpc.js';

const require = createRequire(import.meta.url);
// autocannon ships CommonJS without types.
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>;

type Histogram = { p50: number; p99: number; average: number; max: number; total: number };
type AutocannonResult = { requests: Histogram & { total: number }; latency: Histogram; throughput: Histogram; non2xx: number; errors: number; timeouts: number; duration: number; '2xx': number };

export type HttpLoadArgs = { url: string; method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string>; connections: number; durationS: number };
export type HttpLoadResult = { requestsPerS: number; total: number; p50Ms: number; p99Ms: number; bytesPerS: number; non2xx: number; errors: number; loadCpuS: number };

serve({
  async run(args: HttpLoadArgs): Promise<HttpLoadResult> {
    const cpuBefore = selfUsage().cpuS;
    const result = await autocannon({
      url: args.url,
      method: args.method ?? 'GET',
      ...(args.body !== undefined ? { body: args.body } : {}),
      headers: args.headers ?? {},
      connections: args.connections,
      duration: args.durationS,
    });
    return {
      requestsPerS: result.requests.total / result.duration,
      total: result.requests.total,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      bytesPerS: result.throughput.average,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      loadCpuS: selfUsage().cpuS - cpuBefore,
    };
  },
});
