// The Envoy gRPC xDS front-end: runs the xDS server on `envoy.grpc.listen`, with metrics and the closed loop wired in.

import { formatHostPort } from '../../../config/address.js';
import { combineObservers, XdsServer } from './server.js';
import { createXdsSync } from './sync-targets.js';
import { TYPE_URLS } from './protos.js';
import { edsShapeOf } from '../eds-format.js';
import type { Config } from '../../../config/schema.js';
import type { Frontend, FrontendContext } from '../../frontend.js';
import type { XdsObserver, XdsServerOptions } from './server.js';

export { XdsServer, combineObservers } from './server.js';
export { createXdsSync, xdsTargetId } from './sync-targets.js';

/** How long a reload that replaces the listener waits for streams to end before dropping them. */
const RELOAD_GRACE_MS = 2000;

const TYPE_LABELS: Record<string, string> = {
  [TYPE_URLS.endpoint]: 'endpoint', [TYPE_URLS.cluster]: 'cluster', [TYPE_URLS.listener]: 'listener', [TYPE_URLS.route]: 'route',
};
const typeLabel = (typeUrl: string) => TYPE_LABELS[typeUrl] ?? 'other';

function serverSettings(config: Config): Omit<XdsServerOptions, 'source' | 'logger' | 'observer' | 'clock'> | null {
  const envoy = config.envoy;
  const grpc = envoy.grpc;
  if (!grpc) return null;
  return {
    listen: formatHostPort(grpc.listen.host, grpc.listen.port),
    clusterName: envoy.cluster_name,
    shape: edsShapeOf(config),
    proxyless: grpc.proxyless ?? null,
    keepaliveTimeMs: grpc.keepalive_time,
    keepaliveTimeoutMs: grpc.keepalive_timeout,
    maxStreams: grpc.max_streams,
    maxStreamsPerConnection: grpc.max_streams_per_connection,
    stallTimeoutMs: grpc.stall_timeout,
  };
}

// Settings that need a new listener; everything else is applied to open streams.
const transportKey = (settings: ReturnType<typeof serverSettings>) =>
  settings ? JSON.stringify([settings.listen, settings.keepaliveTimeMs, settings.keepaliveTimeoutMs, settings.maxStreams, settings.maxStreamsPerConnection, settings.stallTimeoutMs]) : '';

/**
 * The gRPC xDS front-end (off while `envoy.grpc` is absent). Each client stream becomes a
 * closed-loop target when the context has a sync model.
 *
 * @example
 * const frontend = createEnvoyGrpc(context); // context.sync: each client becomes a target
 * await frontend.start?.(); // listening on envoy.grpc.listen
 */
export function createEnvoyGrpc(context: FrontendContext): Frontend & { port(): number | null } {
  const { source, metrics, clock } = context;
  const logger = context.logger.child({ frontend: 'envoy-grpc' });
  const loop = context.sync ? createXdsSync({ sync: context.sync, source }) : null;
  const counting: XdsObserver = {
    opened: () => metrics.xdsStreams.inc(),
    closed: () => metrics.xdsStreams.dec(),
    request: (_stream, outcome) => metrics.xdsRequests.inc({ type: outcome.kind === 'invalid' ? 'other' : typeLabel(outcome.typeUrl), result: outcome.kind }),
    pushed: (_stream, response) => metrics.xdsPushes.inc({ type: typeLabel(response.typeUrl) }),
  };
  const observer = combineObservers(counting, loop?.observer);
  let server: XdsServer | null = null;
  let key = '';

  const open = async () => {
    const settings = serverSettings(context.config());
    key = transportKey(settings);
    if (!settings) return;
    server = new XdsServer({ ...settings, source, logger, observer, clock });
    const port = await server.start();
    logger.info({ listen: settings.listen, port, cluster: settings.clusterName, proxyless: settings.proxyless?.listener ?? null }, 'xDS gRPC server listening (ADS and EDS)');
  };

  return {
    name: 'envoy-grpc',
    /** The bound port (useful with port 0), null while off. */
    port: () => server?.port ?? null,
    start: open,
    async reload() {
      const settings = serverSettings(context.config());
      if (server && settings && transportKey(settings) === key) {
        server.reconfigure({ clusterName: settings.clusterName, shape: settings.shape, proxyless: settings.proxyless });
        return;
      }
      // Listen address or limits changed (or gRPC turned on/off): clients reconnect to the new listener.
      const old = server;
      server = null;
      if (old) {
        // Give clients their UNAVAILABLE status, but a stalled stream must not hold the reload.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([old.close(), new Promise((resolve) => (timer = setTimeout(resolve, RELOAD_GRACE_MS)))]);
        clearTimeout(timer);
        await old.destroy();
      }
      await open();
    },
    async close() {
      await server?.close();
      loop?.close();
    },
    async destroy() {
      await server?.destroy();
      loop?.close();
    },
  };
}
