// Benchmark worker: drainwatch's HAProxy agent-check server, or a bare node:net server answering a constant line.

import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { HaproxyAgentServer } from '../../../src/frontends/haproxy/agent-server.js';
import { Metrics } from '../../../src/operator/metrics/registry.js';
import { silentLogger } from '../../../src/core/logger.js';
import { serve } from '../lib/rpc.js';
import { freshCore } from './fresh-core.js';

let stop: () => Promise<void> = async () => undefined;

serve(
  {
    /** Starts the server on 127.0.0.1:0 and answers its port. */
    async start(args: { mode: 'drainwatch' | 'bare'; names: string[] }): Promise<number> {
      if (args.mode === 'drainwatch') {
        const core = freshCore(args.names.map((name, i) => ({ name, address: `127.1.0.${1 + (i % 250)}`, port: 443 })));
        const agent = new HaproxyAgentServer({
          source: core.source,
          listen: { host: '127.0.0.1', port: 0 },
          maxConnections: 4096,
          idleTimeoutMs: 5000,
          logger: silentLogger,
          metrics: new Metrics({ processMetrics: false }),
        });
        await agent.start();
        stop = async () => {
          await agent.destroy();
          core.close();
        };
        return agent.address()?.port ?? 0;
      }
      // The in-language limit: read one chunk, answer a constant line, half-close.
      const reply = 'up ready 100%\n';
      const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
        socket.on('error', () => undefined);
        socket.once('data', () => socket.end(reply));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => resolve());
      });
      stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
      const address = server.address();
      return typeof address === 'object' && address ? address.port : 0;
    },
  },
  () => stop(),
);
