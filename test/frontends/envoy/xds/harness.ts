// Test harness for xDS: small gRPC servers standing in for nodes, and gRPC's real xDS client aimed at drainwatch.

import * as grpc from '@grpc/grpc-js';
import { register as registerXds } from '@grpc/grpc-js-xds';
import { XdsServer } from '../../../../src/frontends/envoy/xds/server.js';
import { silentLogger } from '../../../../src/core/logger.js';
import { FakeSource, snapshotOf, verdict } from '../fixtures.js';
import type { ServiceDefinition } from '@grpc/grpc-js';
import type { XdsObserver, XdsServerOptions } from '../../../../src/frontends/envoy/xds/server.js';
import type { XdsStream, RequestOutcome } from '../../../../src/frontends/envoy/xds/stream.js';
import type { PreparedResponse } from '../../../../src/frontends/envoy/xds/resources.js';
import type { NodeVerdict } from '../../../../src/core/snapshot.js';
import type { NodeState } from '../../../../src/core/verdict.js';

registerXds();

const raw = { serialize: (value: Buffer) => value, deserialize: (bytes: Buffer) => bytes };

// Which: answers the node's name at once. Hold: answers only when the test releases it (a call in flight).
const NODE_SERVICE = {
  Which: { path: '/drainwatch.test.Node/Which', requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
  Hold: { path: '/drainwatch.test.Node/Hold', requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
} as unknown as ServiceDefinition;

export type TestNode = {
  name: string;
  port: number;
  /** Calls received per method. */
  calls: { Which: number; Hold: number };
  /** Resolves held calls (each answers the node's name). */
  release(): void;
  /** Resolves once `count` Hold calls are waiting on this node. */
  holding(count: number): Promise<void>;
  close(): Promise<void>;
};

/** A gRPC server on 127.0.0.1 (port 0) that names itself in every answer. */
export async function startNode(name: string): Promise<TestNode> {
  const server = new grpc.Server();
  const held: Array<() => void> = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const node: TestNode = {
    name,
    port: 0,
    calls: { Which: 0, Hold: 0 },
    release() {
      for (const answer of held.splice(0)) answer();
    },
    holding(count) {
      if (held.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
  server.addService(NODE_SERVICE, {
    Which: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => {
      node.calls.Which += 1;
      callback(null, Buffer.from(name));
    },
    Hold: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => {
      node.calls.Hold += 1;
      held.push(() => callback(null, Buffer.from(name)));
      for (const waiter of waiters.splice(0)) {
        if (held.length >= waiter.count) waiter.resolve();
        else waiters.push(waiter);
      }
    },
  });
  node.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))));
  return node;
}

const NodeClient = grpc.makeGenericClientConstructor(NODE_SERVICE, 'Node');

export type XdsTestClient = {
  /** One Which call: the name of the node that answered, or the gRPC error. */
  which(deadlineMs?: number): Promise<string>;
  /** One Hold call, answered when the node releases it. */
  hold(): Promise<string>;
  close(): void;
};

/**
 * A client of `xds:///<target>` with its own bootstrap (gRPC's per-channel test option), so
 * every test gets a fresh XdsClient talking to its own drainwatch.
 */
export function xdsClient(target: string, xdsPort: number, nodeId = 'grpc-test-client', template?: { xds_servers: { server_uri: string }[] }): XdsTestClient {
  const bootstrap = template
    ? { ...template, xds_servers: template.xds_servers.map((server) => ({ ...server, server_uri: `127.0.0.1:${xdsPort}` })) }
    : {
      xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: nodeId, cluster: 'drainwatch-tests', locality: { region: 'test' } },
    };
  const client = new NodeClient(`xds:///${target}`, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
  }) as unknown as grpc.Client & Record<'Which' | 'Hold', (request: Buffer, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, value?: Buffer) => void) => void>;
  const call = (name: 'Which' | 'Hold', deadlineMs?: number) => new Promise<string>((resolve, reject) => {
    const options: grpc.CallOptions = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
    client[name](Buffer.alloc(0), options, (error, value) => (error ? reject(error) : resolve(value!.toString())));
  });
  return { which: (deadlineMs) => call('Which', deadlineMs), hold: () => call('Hold'), close: () => client.close() };
}

type Seen = { stream: XdsStream; outcome?: RequestOutcome; pushed?: PreparedResponse; closed?: string };

/** Records what the server reports and lets a test wait for one event (no sleeps). */
export class XdsEvents implements XdsObserver {
  readonly seen: Seen[] = [];
  private waiters: Array<{ match: (event: Seen) => boolean; resolve: (event: Seen) => void }> = [];

  request(stream: XdsStream, outcome: RequestOutcome): void {
    this.record({ stream, outcome });
  }
  pushed(stream: XdsStream, response: PreparedResponse): void {
    this.record({ stream, pushed: response });
  }
  closed(stream: XdsStream, reason: string): void {
    this.record({ stream, closed: reason });
  }

  /** The first event (already seen or still to come) that matches. */
  next(match: (event: Seen) => boolean, from = 0): Promise<Seen> {
    const found = this.seen.slice(from).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Resolves once some stream ACKs `version` of `typeUrl`. */
  acked(typeUrl: string, version: string, from = 0): Promise<Seen> {
    return this.next((event) => event.outcome?.kind === 'ack' && event.outcome.typeUrl === typeUrl && event.outcome.version === version, from);
  }

  private record(event: Seen): void {
    this.seen.push(event);
    for (const waiter of [...this.waiters]) {
      if (!waiter.match(event)) continue;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  }
}

export type Fleet = {
  nodes: TestNode[];
  source: FakeSource;
  server: XdsServer;
  events: XdsEvents;
  port: number;
  /** Publishes a snapshot with these states (others ready at weight 100). */
  set(states: Record<string, NodeState | [NodeState, number]>): void;
  close(): Promise<void>;
};

/** Three test nodes, a fake snapshot source naming them, and drainwatch's xDS server for `xds:///pexip`. */
export async function startFleet(options: Partial<XdsServerOptions> = {}, names = ['px01', 'px02', 'px03']): Promise<Fleet> {
  const nodes = await Promise.all(names.map(startNode));
  const verdicts = (states: Record<string, NodeState | [NodeState, number]>): NodeVerdict[] =>
    nodes.map((node) => {
      const entry = states[node.name] ?? 'ready';
      const [state, weight] = Array.isArray(entry) ? entry : [entry, 100];
      return verdict(node.name, state, { address: '127.0.0.1', port: node.port, weight });
    });
  const source = new FakeSource(snapshotOf(verdicts({})));
  const events = new XdsEvents();
  const server = new XdsServer({ source, listen: '127.0.0.1:0', clusterName: 'pexip', proxyless: { listener: 'pexip' }, logger: silentLogger, observer: events, ...options });
  const port = await server.start();
  return {
    nodes, source, server, events, port,
    set: (states) => source.set(verdicts(states)),
    close: async () => {
      await server.destroy();
      for (const node of nodes) node.release();
      await Promise.all(nodes.map((node) => node.close()));
    },
  };
}
