// A raw xDS stream for tests: DiscoveryRequests encoded and responses decoded with protobufjs over a grpc-js bidi call.

import * as grpc from '@grpc/grpc-js';
import { connect } from 'node:http2';
import { decodeMessage, encodeJson } from '../../../../src/frontends/envoy/xds/protos.js';

export const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
export const EDS_PATH = '/envoy.service.endpoint.v3.EndpointDiscoveryService/StreamEndpoints';
export const DELTA_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

export type RequestJson = {
  version_info?: string;
  node?: { id: string; cluster?: string };
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code: number; message: string };
};

export type ResponseJson = {
  version_info: string;
  resources: { type_url: string; value: Uint8Array }[];
  type_url: string;
  nonce: string;
  control_plane: { identifier: string } | null;
};

export type RawStream = {
  send(request: RequestJson): void;
  /** The next response (already received or still to come). */
  next(): Promise<ResponseJson>;
  /** Resolves with the call's final status. */
  ended: Promise<grpc.StatusObject>;
  /** Decodes the resources of a response as `typeName`. */
  decode<T = Record<string, unknown>>(response: ResponseJson, typeName: string): T[];
  close(): void;
};

/** Opens one xDS stream (ADS by default) to 127.0.0.1:port on its own connection. */
export function rawStream(port: number, path = ADS_PATH): RawStream {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(
    path,
    (request: RequestJson) => Buffer.from(encodeJson('envoy.service.discovery.v3.DiscoveryRequest', request)),
    (bytes: Buffer) => decodeMessage<ResponseJson>('envoy.service.discovery.v3.DiscoveryResponse', bytes),
  );
  const queue: ResponseJson[] = [];
  const waiting: Array<(response: ResponseJson) => void> = [];
  call.on('data', (response: ResponseJson) => {
    const waiter = waiting.shift();
    if (waiter) waiter(response);
    else queue.push(response);
  });
  call.on('error', () => undefined); // the status arrives on 'status'
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return {
    send: (request) => call.write(request),
    next: () => {
      const queued = queue.shift();
      return queued ? Promise.resolve(queued) : new Promise((resolve) => waiting.push(resolve));
    },
    ended,
    decode: (response, typeName) => response.resources.map((any) => decodeMessage(typeName, any.value)),
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

/**
 * An HTTP/2 client that opens an ADS stream, sends one request and then never reads: its flow
 * control window fills and the server's writes to it stall.
 */
export function neverReadingStream(port: number, request: RequestJson): { close(): void } {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': ADS_PATH, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined);
  stream.pause();
  const message = encodeJson('envoy.service.discovery.v3.DiscoveryRequest', request);
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  stream.write(frame);
  return { close: () => session.destroy() };
}
