// The NGINX front-end: one writer per `nginx.upstreams[]` entry, and GET /nginx/{upstream}.conf.

import { NginxWriter } from './writer.js';
import type { CommandRunner } from './writer.js';
import type { NginxUpstreamConfig } from '../../config/schema.js';
import type { Frontend, FrontendContext } from '../frontend.js';

export type NginxFrontendOptions = { run?: CommandRunner; clock?: () => number };

/**
 * Registers GET /nginx/{upstream}.conf and keeps every configured upstream file up to date.
 *
 * @example
 * const service = await Service.start(loaded, { frontends: [createAdminApi, createNginxFrontend] });
 */
export function createNginxFrontend(context: FrontendContext, options: NginxFrontendOptions = {}): Frontend {
  const writers = new Map<string, NginxWriter>();
  /** Writers a reload removed, still finishing a command: destroy() must reach them too. */
  const retiring = new Set<NginxWriter>();
  let started = false;
  let closed = false;

  const build = (upstream: NginxUpstreamConfig): NginxWriter =>
    new NginxWriter({
      upstream, source: context.source, logger: context.logger, metrics: context.metrics, ...options,
      clock: options.clock ?? context.clock, sync: context.sync, readIntervalMs: upstream.read_interval,
    });

  context.app.get('/nginx/:file', (c) => {
    const file = c.req.param('file');
    const name = file.endsWith('.conf') ? file.slice(0, -'.conf'.length) : null;
    const writer = name === null ? undefined : writers.get(name);
    if (!writer) {
      const known = [...writers.keys()].map((known) => `/nginx/${known}.conf`).join(', ') || 'none configured';
      return c.text(`no NGINX upstream at /nginx/${file} (known: ${known})\n`, 404);
    }
    const rendering = writer.rendering();
    return c.text(rendering.text, 200, {
      'cache-control': 'no-store',
      'x-drainwatch-snapshot-version': String(rendering.version),
      'x-drainwatch-fail-open': rendering.failOpen ? '1' : '0',
    });
  });

  for (const upstream of context.config().nginx.upstreams) writers.set(upstream.name, build(upstream));

  return {
    name: 'nginx',
    async start() {
      started = true;
      await Promise.all([...writers.values()].map((writer) => writer.start()));
    },
    async reload() {
      if (closed) return;
      const wanted = new Map(context.config().nginx.upstreams.map((upstream) => [upstream.name, upstream]));
      // A writer that goes away is closed, not destroyed: its command finishes (bounded by command_timeout).
      const gone: Promise<void>[] = [];
      for (const [name, writer] of writers) {
        const next = wanted.get(name);
        if (!next || next.file !== writer.file) {
          writers.delete(name);
          retiring.add(writer);
          gone.push(writer.close().finally(() => retiring.delete(writer)));
        } else {
          writer.update(next);
        }
      }
      await Promise.all(gone);
      for (const [name, upstream] of wanted) {
        if (writers.has(name)) continue;
        const writer = build(upstream);
        writers.set(name, writer);
        if (started) await writer.start();
      }
    },
    async close() {
      closed = true;
      await Promise.all([...writers.values(), ...retiring].map((writer) => writer.close()));
    },
    async destroy() {
      closed = true;
      await Promise.all([...writers.values(), ...retiring].map((writer) => writer.destroy()));
    },
  };
}

/**
 * Every NGINX front-end factory (the service concatenates each load balancer's list).
 *
 * @example const frontends = [...HAPROXY_FRONTENDS, ...NGINX_FRONTENDS, ...ENVOY_FRONTENDS];
 */
export const NGINX_FRONTENDS = [createNginxFrontend] as const;
