// The status prober: one GET of /api/client/v2/status per call, classified into a ProbeObservation.

import { request } from 'undici';
import { sanitize } from '../../core/text.js';
import { createHttpAgent, describeNetworkError } from '../http-client.js';
import type { Agent, Dispatcher } from 'undici';
import type { HttpTlsOptions } from '../http-client.js';
import type { NodeSpec, ProbeObservation, ProbeReason } from '../../core/verdict.js';

export type ProberOptions = {
  /** Whole-probe deadline in ms (connect + headers + body). */
  timeoutMs: number;
  /** Largest body consumed for connection reuse; larger ones are cut off (default 64 KiB). */
  bodyLimit?: number;
  tls?: HttpTlsOptions;
  /** Keep-alive idle time for probe connections (default 30 s). */
  keepAliveMs?: number;
  clock?: () => number;
};

/** How much of a 503 body is read to find the node's maintenance message. */
const MESSAGE_BYTES = 4096;

/**
 * Probes nodes over a shared keep-alive undici Agent.
 *
 * @example
 * const prober = new Prober({ timeoutMs: 800 });
 * const observation = await prober.probe(spec);
 * await prober.close();
 */
export class Prober {
  private readonly agent: Agent;
  private readonly clock: () => number;
  private readonly bodyLimit: number;

  constructor(private readonly options: ProberOptions) {
    this.clock = options.clock ?? Date.now;
    this.bodyLimit = options.bodyLimit ?? 64 * 1024;
    this.agent = createHttpAgent({
      timeoutMs: options.timeoutMs,
      connections: 1, // probes of one node never overlap, so one socket per node is enough
      keepAliveMs: options.keepAliveMs ?? 30_000,
      tls: options.tls,
    });
  }

  /** Probes one node; never throws: every failure becomes an observation. */
  async probe(node: Pick<NodeSpec, 'statusUrl'>, signal?: AbortSignal): Promise<ProbeObservation> {
    const started = this.clock();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new ProbeDeadline()), this.options.timeoutMs);
    const onOuterAbort = () => deadline.abort(signal?.reason);
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    let latencyMs = 0;
    try {
      const response = await request(node.statusUrl, {
        method: 'GET',
        dispatcher: this.agent,
        signal: deadline.signal,
        headers: { accept: 'application/json', 'user-agent': 'drainwatch' },
      });
      latencyMs = this.clock() - started;
      return await this.classifyResponse(response, latencyMs, deadline.signal);
    } catch (error) {
      const timedOut = deadline.signal.reason instanceof ProbeDeadline;
      const reason = timedOut ? 'timeout' : classifyError(error);
      const detail = timedOut ? `no answer within ${this.options.timeoutMs}ms` : describeNetworkError(error);
      return { outcome: 'failure', reason, detail, status: null, latencyMs: this.clock() - started, at: this.clock() };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** Lets open connections finish, then closes them. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Drops every connection now. */
  async destroy(): Promise<void> {
    await this.agent.destroy();
  }

  private async classifyResponse(
    response: Dispatcher.ResponseData,
    latencyMs: number,
    signal: AbortSignal,
  ): Promise<ProbeObservation> {
    const status = response.statusCode;
    const base = { status, latencyMs };
    if (status === 503) {
      const message = await readMessage(response.body, signal);
      return { ...base, outcome: 'maintenance', reason: 'maintenance', detail: message, at: this.clock() };
    }
    // Decide on the status code alone; the body is only drained so the socket can be reused.
    await response.body.dump({ limit: this.bodyLimit, signal }).catch(() => undefined);
    const at = this.clock();
    if (status === 200) return { ...base, outcome: 'available', reason: 'ok', detail: '', at };
    return { ...base, outcome: 'failure', reason: httpReason(status), detail: `HTTP ${status}`, at };
  }
}

class ProbeDeadline extends Error {
  constructor() {
    super('probe deadline');
  }
}

function httpReason(status: number): ProbeReason {
  if (status === 404) return 'http_404';
  if (status >= 500) return 'http_5xx';
  if (status >= 400) return 'http_4xx';
  if (status >= 300) return 'http_3xx';
  return 'error';
}

/** Reads at most MESSAGE_BYTES of a maintenance answer and extracts its `result` text, best effort. */
async function readMessage(body: Dispatcher.ResponseData['body'], signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (signal.aborted) break;
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MESSAGE_BYTES) break;
    }
  } catch {
    return '';
  } finally {
    if (!body.destroyed && size >= MESSAGE_BYTES) body.destroy();
  }
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: unknown; message?: unknown };
    const text = typeof parsed.result === 'string' ? parsed.result : typeof parsed.message === 'string' ? parsed.message : '';
    return sanitize(text);
  } catch {
    return '';
  }
}


const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);

const CODE_REASONS: Record<string, ProbeReason> = {
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_NONAME: 'dns',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
};

/** Maps an undici / Node error to a stable reason by its `code` (walking `cause` and aggregate errors). */
export function classifyError(error: unknown): ProbeReason {
  for (const code of errorCodes(error)) {
    if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return 'tls';
    const reason = CODE_REASONS[code];
    if (reason) return reason;
  }
  return 'error';
}

function errorCodes(error: unknown, depth = 0): string[] {
  if (typeof error !== 'object' || error === null || depth > 4) return [];
  const codes: string[] = [];
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') codes.push(code);
  if (Array.isArray(errors)) for (const inner of errors) codes.push(...errorCodes(inner, depth + 1));
  if (cause) codes.push(...errorCodes(cause, depth + 1));
  return codes;
}
