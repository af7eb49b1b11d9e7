// Benchmark worker: drainwatch's Envoy routes (health + REST EDS on its hono app), a bare hono route, or a bare node:http handler.

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { stringify } from 'yaml';
import { loadConfigText } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { createEnvoyEds } from '../../../src/frontends/envoy/eds-routes.js';
import { createEnvoyHealth } from '../../../src/frontends/envoy/health-routes.js';
import { createHttpApp } from '../../../src/operator/http/app.js';
import { HttpServer } from '../../../src/operator/http/server.js';
import { Metrics } from '../../../src/operator/metrics/registry.js';
import { benchNode } from '../lib/bench-node.js';
import { serve } from '../lib/rpc.js';
import { freshCore } from './fresh-core.js';

export type HttpTargetArgs = {
  mode: 'drainwatch' | 'hono' | 'node-http';
  /** Node count for drainwatch's inventory. */
  nodes: number;
  /** Bare servers: the exact body to answer (copied from a drainwatch answer), and its headers. */
  body?: string;
  headers?: Record<string, string>;
};

let stop: () => Promise<void> = async () => undefined;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

serve(
  {
    async start(args: HttpTargetArgs): Promise<number> {
      if (args.mode === 'drainwatch') {
                const nodes = Array.from({ length: args.nodes }, (_, i) => benchNode(i));
        const loaded = loadConfigText(stringify({ nodes, log: { level: 'silent' } }), { baseDir: tmpdir(), env: {} }, 'bench http config');
        if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
        const fresh = freshCore(nodes);
        const app = createHttpApp(silentLogger);
        const context = { source: fresh.source, core: fresh.core, config: () => loaded.config, secrets: () => loaded.secrets, logger: silentLogger, metrics: new Metrics({ processMetrics: false }), app, clock: Date.now };
        createEnvoyHealth(context);
        createEnvoyEds(context);
        const http = new HttpServer(app, { listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger });
        await http.start();
        stop = async () => {
          await http.close(0);
          fresh.close();
              };
        return http.address().port;
      }
      const body = args.body ?? 'ok\n';
      const headers = args.headers ?? { 'content-type': 'text/plain; charset=utf-8' };
      let server: Server;
      if (args.mode === 'hono') {
        // The same adaptor drainwatch's HttpServer uses, with a handler that only answers the constant.
        const app = new Hono();
        app.get('/envoy/health', () => new Response(body, { status: 200, headers }));
        app.post('/v3/discovery:endpoints', async (c) => {
          await c.req.text();
          return new Response(body, { status: 200, headers });
        });
        server = createAdaptorServer({ fetch: app.fetch }) as Server;
      } else {
        server = createServer((req, res) => {
          req.resume();
          req.on('end', () => {
            res.writeHead(200, headers);
            res.end(body);
          });
        });
      }
      server.keepAliveTimeout = 5000;
      const port = await listen(server);
      stop = () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        });
      return port;
    },
  },
  () => stop(),
);
