// Benchmark worker: a complete drainwatch Service (default front-ends) from a config object.

import { tmpdir } from 'node:os';
import { stringify } from 'yaml';
import { loadConfigText } from '../../../src/config/load.js';
import { Service } from '../../../src/service/service.js';
import { Metrics } from '../../../src/operator/metrics/registry.js';
import { serve } from '../lib/rpc.js';

let service: Service | null = null;

serve(
  {
    /** Starts the service; answers the agent's and the xDS server's ports (0 when off). */
    async start(args: { config: Record<string, unknown> }): Promise<{ agentPort: number; httpPort: number; grpcPort: number }> {
      const loaded = loadConfigText(stringify({ log: { level: 'silent' }, ...args.config }), { baseDir: tmpdir(), env: {} }, 'bench service config');
      if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
      service = await Service.start(loaded, { metrics: new Metrics({ processMetrics: false }) });
      const agent = service.frontend('haproxy-agent') as { address?: () => { port: number } | null } | undefined;
      const grpc = service.frontend('envoy-grpc') as { port?: () => number | null } | undefined;
      return { agentPort: agent?.address?.()?.port ?? 0, httpPort: service.httpAddress().port, grpcPort: grpc?.port?.() ?? 0 };
    },
    /** name -> state of every verdict. */
    states(): Record<string, string> {
      const snapshot = service?.core.snapshot();
      return Object.fromEntries((snapshot?.nodes ?? []).map((verdict) => [verdict.name, verdict.state]));
    },
  },
  async () => {
    await service?.close(1000);
  },
);
