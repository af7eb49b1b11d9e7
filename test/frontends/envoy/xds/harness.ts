// Test harness for xDS: small gRPC servers standing in for nodes, and gRPC's real xDS client aimed at drainwatch.

import * as grpc from '@grpc/grpc-js';
import { register as registerXds } from '@grpc/grpc-js-xds';
import type { ServiceDefinition } from '@grpc/grpc-js';

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
  which(): Promise<string>;
  /** One Hold call, answered when the node releases it. */
  hold(): Promise<string>;
  close(): void;
};

/**
 * A client of `xds:///<target>` with its own bootstrap (gRPC's per-channel test option), so
 * every test gets a fresh XdsClient talking to its own drainwatch.
 */
export function xdsClient(target: string, xdsPort: number, nodeId = 'grpc-test-client'): XdsTestClient {
  const bootstrap = {
    xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: nodeId, cluster: 'drainwatch-tests', locality: { region: 'test' } },
  };
  const client = new NodeClient(`xds:///${target}`, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
  }) as unknown as grpc.Client & Record<'Which' | 'Hold', (request: Buffer, callback: (error: grpc.ServiceError | null, value?: Buffer) => void) => void>;
  const call = (name: 'Which' | 'Hold') => new Promise<string>((resolve, reject) => {
    client[name](Buffer.alloc(0), (error, value) => (error ? reject(error) : resolve(value!.toString())));
  });
  return { which: () => call('Which'), hold: () => call('Hold'), close: () => client.close() };
}
