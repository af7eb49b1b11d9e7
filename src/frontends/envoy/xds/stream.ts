// One xDS stream's state of the world per type: subscribed names, what was sent, ACKs, NACKs and nonces.

import { TYPE_URLS } from './protos.js';

/** The fields of a decoded DiscoveryRequest the server reads. */
export type DecodedRequest = {
  version_info: string;
  node: { id?: string; cluster?: string; user_agent_name?: string; user_agent_version?: string } | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: { code?: number; message?: string } | null;
};

export type ClientNode = { id: string; cluster: string; userAgent: string };

/** Per type URL on one stream. */
export type Subscription = {
  names: string[];
  /** The last response sent: its version and nonce. */
  sent: { version: string; nonce: string; at: number } | null;
  /** The last version the client accepted. */
  acked: { version: string; at: number } | null;
  /** The last rejection, cleared by the next ACK. */
  nack: { version: string; code: number; message: string; at: number } | null;
};

/**
 * What one request means (xDS state-of-the-world rules):
 * - `subscribe`: no nonce (first request of a type, or a client starting over) → answer now;
 * - `ack`: the nonce of our last response, no error → the client holds `version`;
 * - `nack`: the same with `error_detail` → the client rejected `version` and keeps its previous one;
 * - `stale`: a nonce other than our last one: the client has not seen our newest response yet,
 *   so the request is ignored (it will answer that one);
 * - `invalid`: the stream must end (no type on ADS, another type on the EDS service).
 * `respond` is true when the subscribed names changed (or on subscribe): the answer is due now.
 */
export type RequestOutcome =
  | { kind: 'subscribe'; typeUrl: string; respond: true }
  | { kind: 'ack'; typeUrl: string; version: string; respond: boolean }
  | { kind: 'nack'; typeUrl: string; version: string; code: number; message: string; respond: boolean }
  | { kind: 'stale'; typeUrl: string }
  | { kind: 'invalid'; reason: string };

export type StreamService = 'ads' | 'eds';

const sameNames = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((name, i) => name === b[i]);

/**
 * The bookkeeping of one stream, free of gRPC: the server feeds it requests and tells it what it sent.
 *
 * @example
 * const stream = new XdsStream('1', '127.0.0.1:5000', 'ads');
 * stream.handle(request, Date.now()) // { kind: 'subscribe', typeUrl: '...ClusterLoadAssignment', respond: true }
 */
export class XdsStream {
  node: ClientNode | null = null;
  readonly subscriptions = new Map<string, Subscription>();
  private nonces = 0;

  constructor(readonly id: string, readonly peer: string, readonly service: StreamService, readonly openedAt = 0) {}

  /** Classifies one request and updates the subscription it is about. */
  handle(request: DecodedRequest, now: number): RequestOutcome {
    if (!this.node && request.node) {
      const agent = [request.node.user_agent_name, request.node.user_agent_version].filter(Boolean).join(' ');
      this.node = { id: request.node.id ?? '', cluster: request.node.cluster ?? '', userAgent: agent };
    }
    let typeUrl = request.type_url;
    if (this.service === 'eds') {
      if (typeUrl === '') typeUrl = TYPE_URLS.endpoint;
      if (typeUrl !== TYPE_URLS.endpoint) return { kind: 'invalid', reason: `the EDS service serves ${TYPE_URLS.endpoint} only (got ${typeUrl})` };
    } else if (typeUrl === '') {
      return { kind: 'invalid', reason: 'an ADS request needs a type_url' };
    }
    const names = [...new Set(request.resource_names)].sort();
    const subscription = this.subscriptions.get(typeUrl);
    if (!subscription || request.response_nonce === '') {
      this.subscriptions.set(typeUrl, {
        names,
        sent: subscription?.sent ?? null,
        acked: subscription?.acked ?? (request.version_info ? { version: request.version_info, at: now } : null),
        nack: null,
      });
      return { kind: 'subscribe', typeUrl, respond: true };
    }
    if (subscription.sent === null || request.response_nonce !== subscription.sent.nonce) return { kind: 'stale', typeUrl };
    const respond = !sameNames(names, subscription.names);
    subscription.names = names;
    if (request.error_detail) {
      const { code = 0, message = '' } = request.error_detail;
      subscription.nack = { version: subscription.sent.version, code, message, at: now };
      return { kind: 'nack', typeUrl, version: subscription.sent.version, code, message, respond };
    }
    subscription.acked = { version: request.version_info, at: now };
    subscription.nack = null;
    return { kind: 'ack', typeUrl, version: request.version_info, respond };
  }

  /** A fresh nonce for the next response (unique per stream, so a late ACK cannot match a newer response). */
  nextNonce(): string {
    this.nonces += 1;
    return String(this.nonces);
  }

  /** Records a response written to the stream. */
  sent(typeUrl: string, version: string, nonce: string, now: number): void {
    const subscription = this.subscriptions.get(typeUrl);
    if (subscription) subscription.sent = { version, nonce, at: now };
  }

  /** True when `version` differs from what was last sent for the type (a push is due). */
  needs(typeUrl: string, version: string): boolean {
    const subscription = this.subscriptions.get(typeUrl);
    return subscription !== undefined && subscription.sent?.version !== version;
  }
}
