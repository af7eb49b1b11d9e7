// The gRPC xDS server: ADS and the EDS service (state of the world), pushing each new snapshot to every stream at once.

import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { LRUCache } from 'lru-cache';
import { decodeMessage } from './protos.js';
import { ResourceCatalog, withNonce } from './resources.js';
import { XdsStream } from './stream.js';
import type { ServerDuplexStream, ServiceDefinition } from '@grpc/grpc-js';
import type { Logger } from '../../../core/logger.js';
import type { SnapshotSource } from '../../../core/snapshot.js';
import type { EdsShape } from '../eds-format.js';
import type { PreparedResponse } from './resources.js';
import type { DecodedRequest, RequestOutcome, StreamService } from './stream.js';

/** What the server reports as it works: metrics and the closed-loop adapter listen here. */
export type XdsObserver = {
  opened?(stream: XdsStream): void;
  request?(stream: XdsStream, outcome: RequestOutcome): void;
  pushed?(stream: XdsStream, response: PreparedResponse): void;
  /** The stream is gone: the client ended it, the connection died, it was dropped, or drainwatch is stopping. */
  closed?(stream: XdsStream, reason: string): void;
};

/**
 * One observer that forwards to several (metrics, the closed loop, tests).
 *
 * @example new XdsServer({ ...options, observer: combineObservers(metricsObserver, loop.observer) })
 */
export function combineObservers(...observers: Array<XdsObserver | undefined>): XdsObserver {
  const list = observers.filter((observer): observer is XdsObserver => observer !== undefined);
  return {
    opened: (stream) => list.forEach((observer) => observer.opened?.(stream)),
    request: (stream, outcome) => list.forEach((observer) => observer.request?.(stream, outcome)),
    pushed: (stream, response) => list.forEach((observer) => observer.pushed?.(stream, response)),
    closed: (stream, reason) => list.forEach((observer) => observer.closed?.(stream, reason)),
  };
}

export type XdsServerOptions = {
  source: SnapshotSource;
  /** host:port (port 0 picks a free one). */
  listen: string;
  clusterName: string;
  shape?: EdsShape;
  proxyless?: { listener: string } | null;
  logger: Logger;
  observer?: XdsObserver;
  clock?: () => number;
  /** HTTP/2 pings this often on idle connections, so a vanished client is noticed (default 30 s). */
  keepaliveTimeMs?: number;
  /** No ping answer within this closes the connection (default 10 s). */
  keepaliveTimeoutMs?: number;
  /** Streams open at once over all connections; more are refused with RESOURCE_EXHAUSTED (default 1000). */
  maxStreams?: number;
  /** HTTP/2 MAX_CONCURRENT_STREAMS per connection (default 100; a client needs one or two). */
  maxStreamsPerConnection?: number;
  /** A response not taken by the client within this drops the stream (default 30 s). */
  stallTimeoutMs?: number;
};

type Live = {
  stream: XdsStream;
  call: ServerDuplexStream<DecodedRequest, Buffer>;
  /** A response is being written: later pushes wait and coalesce (latest wins), so nothing piles up. */
  writing: boolean;
  /** Types to (re)send once the write in flight completes; true = even if the version is unchanged. */
  due: Map<string, boolean>;
  stall: NodeJS.Timeout | null;
  closed: boolean;
};

const DISCOVERY_REQUEST = 'envoy.service.discovery.v3.DiscoveryRequest';

function method(path: string) {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestDeserialize: (bytes: Buffer) => decodeMessage<DecodedRequest>(DISCOVERY_REQUEST, bytes),
    requestSerialize: () => Buffer.alloc(0),
    // Responses arrive here already encoded (body once per snapshot + nonce).
    responseSerialize: (bytes: Buffer) => bytes,
    responseDeserialize: (bytes: Buffer) => bytes,
  };
}

const ADS_SERVICE = {
  StreamAggregatedResources: method('/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources'),
} as unknown as ServiceDefinition;
const EDS_SERVICE = {
  StreamEndpoints: method('/envoy.service.endpoint.v3.EndpointDiscoveryService/StreamEndpoints'),
} as unknown as ServiceDefinition;

/**
 * drainwatch's xDS management server. Delta xDS is not offered (clients fall back to state of
 * the world when configured for it; grpc-js answers UNIMPLEMENTED).
 *
 * @example
 * const server = new XdsServer({ source, listen: '127.0.0.1:18000', clusterName: 'pexip', logger });
 * const port = await server.start();
 * await server.close();
 */
export class XdsServer {
  private readonly server: Server;
  private readonly live = new Set<Live>();
  private readonly clock: () => number;
  private readonly warnedNacks = new LRUCache<string, true>({ max: 1024 });
  private readonly warnedSkipped = new LRUCache<string, true>({ max: 1024 });
  private catalog: ResourceCatalog | null = null;
  private unsubscribe: (() => void) | null = null;
  private ids = 0;
  private closing: Promise<void> | null = null;
  private destroyed = false;
  private settleClose: (() => void) | null = null;
  port: number | null = null;

  private readonly options: XdsServerOptions;

  constructor(options: XdsServerOptions) {
    this.options = { ...options };
    this.clock = options.clock ?? Date.now;
    this.server = new Server({
      'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 30_000,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 10_000,
      'grpc.max_concurrent_streams': options.maxStreamsPerConnection ?? 100,
    });
    this.server.addService(ADS_SERVICE, { StreamAggregatedResources: (call: ServerDuplexStream<DecodedRequest, Buffer>) => this.accept('ads', call) });
    this.server.addService(EDS_SERVICE, { StreamEndpoints: (call: ServerDuplexStream<DecodedRequest, Buffer>) => this.accept('eds', call) });
  }

  /** Binds `listen` and starts pushing snapshots; resolves with the bound port. */
  async start(): Promise<number> {
    const port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(this.options.listen, ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
    });
    this.port = port;
    this.unsubscribe = this.options.source.onChange(() => this.push());
    return port;
  }

  /**
   * New resource settings (a reload): streams stay open and get the re-rendered resources
   * at once; listen address, keepalive and limits need a new server.
   */
  reconfigure(resources: Pick<XdsServerOptions, 'clusterName' | 'shape' | 'proxyless'>): void {
    Object.assign(this.options, resources);
    this.catalog = null;
    this.push();
  }

  /** The streams open now. */
  streams(): XdsStream[] {
    return [...this.live].map((live) => live.stream);
  }

  /** Ends every stream with UNAVAILABLE (clients reconnect to another replica) and stops. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.settleClose = resolve;
      this.unsubscribe?.();
      for (const live of [...this.live]) this.finish(live, status.UNAVAILABLE, 'drainwatch is shutting down');
      this.server.tryShutdown(() => resolve());
      if (this.destroyed) resolve();
    });
    return this.closing;
  }

  /** Drops every connection now. Idempotent; a pending close settles. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.unsubscribe?.();
    for (const live of [...this.live]) this.forget(live, 'drainwatch stopped');
    this.server.forceShutdown();
    this.settleClose?.();
  }

  private current(): ResourceCatalog {
    const snapshot = this.options.source.published();
    // By version: fresher observation times make new snapshot objects at the same version, and xDS never carries them.
    if (this.catalog?.snapshot.version !== snapshot.version) {
      const { clusterName, shape, proxyless } = this.options;
      this.catalog = new ResourceCatalog(snapshot, { clusterName, shape, proxyless });
    }
    return this.catalog;
  }

  private accept(service: StreamService, call: ServerDuplexStream<DecodedRequest, Buffer>): void {
    if (this.closing || this.destroyed) {
      call.emit('error', { code: status.UNAVAILABLE, details: 'drainwatch is shutting down' });
      return;
    }
    if (this.live.size >= (this.options.maxStreams ?? 1000)) {
      this.options.logger.warn({ peer: call.getPeer(), limit: this.options.maxStreams ?? 1000 }, 'xDS stream refused: too many streams open');
      call.emit('error', { code: status.RESOURCE_EXHAUSTED, details: 'drainwatch has too many xDS streams open' });
      return;
    }
    this.ids += 1;
    const live: Live = { stream: new XdsStream(String(this.ids), call.getPeer(), service, this.clock()), call, writing: false, due: new Map(), stall: null, closed: false };
    this.live.add(live);
    this.options.observer?.opened?.(live.stream);
    call.on('data', (request: DecodedRequest) => this.onRequest(live, request));
    // The client half-closed: nothing more will be asked, so the stream is done.
    call.on('end', () => this.finish(live, status.OK, 'the client ended the stream'));
    call.on('cancelled', () => this.forget(live, 'the client went away'));
    call.on('error', () => this.forget(live, 'the stream failed'));
    call.on('close', () => this.forget(live, 'the stream closed'));
  }

  private onRequest(live: Live, request: DecodedRequest): void {
    if (live.closed) return;
    const outcome = live.stream.handle(request, this.clock());
    this.options.observer?.request?.(live.stream, outcome);
    const { logger } = this.options;
    const client = { xds_node: live.stream.node?.id ?? '', peer: live.stream.peer };
    switch (outcome.kind) {
      case 'invalid':
        logger.warn({ ...client, error: outcome.reason }, 'xDS request refused');
        this.finish(live, status.INVALID_ARGUMENT, outcome.reason);
        return;
      case 'stale':
        logger.debug({ ...client, type_url: outcome.typeUrl, nonce: request.response_nonce }, 'xDS request with a stale nonce ignored');
        return;
      case 'nack': {
        const key = `${outcome.typeUrl}\n${outcome.version}`;
        if (!this.warnedNacks.has(key)) {
          this.warnedNacks.set(key, true);
          logger.warn({ ...client, type_url: outcome.typeUrl, rejected: outcome.version, code: outcome.code, error: outcome.message }, 'an xDS client rejected a response (NACK); it keeps its previous version');
        }
        break;
      }
      default:
        break;
    }
    if (outcome.respond) this.send(live, outcome.typeUrl, outcome.kind === 'subscribe');
  }

  /** Pushes the new snapshot to every stream whose subscription's version changed. */
  private push(): void {
    for (const live of this.live) for (const typeUrl of live.stream.subscriptions.keys()) this.send(live, typeUrl, false);
  }

  private send(live: Live, typeUrl: string, force: boolean): void {
    if (live.closed) return;
    if (live.writing) {
      live.due.set(typeUrl, force || (live.due.get(typeUrl) ?? false));
      return;
    }
    const subscription = live.stream.subscriptions.get(typeUrl);
    if (!subscription) return;
    const catalog = this.current();
    const response = catalog.response(typeUrl, subscription.names);
    this.warnSkipped(catalog.skipped);
    if (!force && !live.stream.needs(typeUrl, response.version)) return this.next(live);
    const nonce = live.stream.nextNonce();
    live.stream.sent(typeUrl, response.version, nonce, this.clock());
    live.writing = true;
    const stallMs = this.options.stallTimeoutMs ?? 30_000;
    live.stall = setTimeout(() => this.stalled(live, stallMs), stallMs);
    live.stall.unref();
    this.options.observer?.pushed?.(live.stream, response);
    live.call.write(withNonce(response, nonce), () => {
      if (live.stall) clearTimeout(live.stall);
      live.stall = null;
      live.writing = false;
      this.next(live);
    });
  }

  private next(live: Live): void {
    const [entry] = live.due;
    if (!entry) return;
    live.due.delete(entry[0]);
    this.send(live, entry[0], entry[1]);
  }

  private stalled(live: Live, stallMs: number): void {
    this.options.logger.warn({ xds_node: live.stream.node?.id ?? '', peer: live.stream.peer, stall_ms: stallMs }, 'xDS client dropped: it took no response for too long');
    this.finish(live, status.RESOURCE_EXHAUSTED, `no response was read for ${stallMs} ms`);
  }

  private warnSkipped(names: readonly string[]): void {
    for (const name of names) {
      if (this.warnedSkipped.has(name)) continue;
      this.warnedSkipped.set(name, true);
      this.options.logger.warn({ node: name }, 'node left out of EDS: xDS clients need an IP address (not a host name) and a port from 1 to 65535');
    }
  }

  /** Ends the stream with a status (queued behind any write in flight) and forgets it. */
  private finish(live: Live, code: status, details: string): void {
    if (live.closed) return;
    this.forget(live, details);
    if (code === status.OK) live.call.end();
    else live.call.emit('error', { code, details });
  }

  private forget(live: Live, reason: string): void {
    if (live.closed) return;
    live.closed = true;
    if (live.stall) clearTimeout(live.stall);
    live.stall = null;
    live.due.clear();
    this.live.delete(live);
    this.options.observer?.closed?.(live.stream, reason);
  }
}
