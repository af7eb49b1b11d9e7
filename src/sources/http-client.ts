// Shared undici setup for the prober and the Management client: one Agent/TLS builder, a bounded body reader, network-error text.

import { Agent } from 'undici';
import { sanitize } from '../core/text.js';
import type { Dispatcher } from 'undici';

/** TLS settings shared by the prober and the Management client (`probe.tls`). */
export type HttpTlsOptions = {
  /** PEM CA bundle (contents, not a path: the caller reads the file once per config). */
  ca?: string | Buffer | undefined;
  /** Skip certificate verification: an explicit opt-in for self-signed nodes. */
  insecureSkipVerify?: boolean | undefined;
  /** SNI and the name the certificate is checked against, when nodes are reached by address. */
  servername?: string | null | undefined;
};

export type HttpAgentOptions = {
  /** Bounds connect, headers and body separately (undici's own defaults of 10 s / 300 s are wrong for a prober). */
  timeoutMs: number;
  /** Connections per origin. */
  connections: number;
  /** How long an idle keep-alive connection is kept, and the most a server's keep-alive hint may stretch it to. */
  keepAliveMs: number;
  tls?: HttpTlsOptions | undefined;
};

/**
 * A keep-alive undici Agent with per-phase timeouts and the shared TLS settings.
 *
 * @example
 * const agent = createHttpAgent({ timeoutMs: 800, connections: 1, keepAliveMs: 30_000, tls: { insecureSkipVerify: true } });
 * await request(url, { dispatcher: agent });
 */
export function createHttpAgent(options: HttpAgentOptions): Agent {
  const tls = options.tls ?? {};
  return new Agent({
    connections: options.connections,
    keepAliveTimeout: options.keepAliveMs,
    keepAliveMaxTimeout: options.keepAliveMs,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connect: {
      timeout: options.timeoutMs,
      rejectUnauthorized: !tls.insecureSkipVerify,
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.servername ? { servername: tls.servername } : {}),
    },
  });
}

/** The `code` of the error `readBounded` throws for a body over its limit (match on it, not on the class). */
export const BODY_TOO_LARGE = 'DW_BODY_TOO_LARGE';

/** Thrown by `readBounded` when a body is larger than its limit. */
export class BodyTooLargeError extends Error {
  readonly code = BODY_TOO_LARGE;
  constructor(readonly limit: number) {
    super(`body larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a whole response body of at most `limit` bytes; a larger one is destroyed (so its
 * connection is not reused half-read) and rejects with BodyTooLargeError.
 *
 * @example const text = (await readBounded(response.body, 1024 * 1024)).toString('utf8');
 */
export async function readBounded(body: Dispatcher.ResponseData['body'], limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new BodyTooLargeError(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * One sanitised line for a network error: its `code` (and its cause's) unless the message already
 * says it, then the message (an AggregateError's inner messages when it has none of its own).
 *
 * @example describeNetworkError(Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }))
 * // 'UND_ERR_CONNECT_TIMEOUT Connect Timeout Error'
 */
export function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return sanitize(String(error));
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const inner = error instanceof AggregateError ? error.errors.map((each: unknown) => (each instanceof Error ? each.message : String(each))).join('; ') : '';
  const text = error.message || inner || (typeof cause?.message === 'string' ? cause.message : '');
  const codes = [code, cause?.code].filter((each): each is string => typeof each === 'string' && !text.includes(each));
  return sanitize([...new Set(codes), text].filter(Boolean).join(' ')) || 'network error';
}
