// Management Node writes: PATCH of a configuration worker_vm's maintenance fields, with bounded retries and redacted errors.

import { Agent, request } from 'undici';
import { redactExcerpt } from '../../core/redact.js';
import { sleep } from '../../core/sleep.js';
import { CONFIGURATION_WORKER_VM_PATH } from './wire.js';
import type { Dispatcher } from 'undici';

export type ManagementWriterOptions = {
  /** Base URL, e.g. https://manager.example.com */
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** OAuth2 bearer token (instead of user and password). */
  token?: string | undefined;
  /** Deadline of one attempt (connect, headers and body). */
  timeoutMs: number;
  tls?: { ca?: string | Buffer | undefined; insecureSkipVerify?: boolean };
  /** Attempts per write, the first included (default 4). */
  attempts?: number;
  /** Delay before the first retry, doubled for each further one (default 1000 ms, at most 30 s). */
  backoffMs?: number;
  /** Waits between attempts; tests pass one that resolves at once (default: a timer honouring the signal). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
};

/** How a write ended; `detail` is safe to log and show (no credentials, bounded, printable). */
export type WriteOutcome =
  | { ok: true; status: number; attempts: number }
  | { ok: false; status: number | null; kind: 'auth' | 'http' | 'network' | 'timeout' | 'aborted'; detail: string; attempts: number };

const MAX_DETAIL = 160;
const BODY_LIMIT = 64 * 1024;
const MAX_BACKOFF_MS = 30_000;

/** Retried: the Management Node may be restarting, overloaded, or have just rotated a credential. */
function retryable(status: number): boolean {
  return status === 401 || status === 408 || status === 429 || status >= 500;
}

/**
 * Turns an answer or error into one short line without secrets: the configured password, token and
 * Basic header value are masked wherever they appear (a proxy or error page may echo them).
 *
 * @example redactDetail('HTTP 500: {"error": "bad pw-x"}', ['pw-x']) // 'HTTP 500: {"error": "bad ***"}'
 */
export function redactDetail(text: string, secrets: readonly (string | undefined)[]): string {
  // The shared rules also mask Basic/Bearer values and base64-looking runs the error page may echo.
  return redactExcerpt(text, { secrets, max: MAX_DETAIL });
}

/**
 * Writes `maintenance_mode` (and its reason) to `/api/admin/configuration/v1/worker_vm/{id}/`
 * with a partial update (PATCH), as the Administrator interface does. A write is retried with
 * back-off on network errors, timeouts, 401, 408, 429 and 5xx, at most `attempts` times in all;
 * other answers (400, 403, 404) are final.
 *
 * @example
 * const writer = new ManagementWriter({ url, username: 'admin', password, timeoutMs: 5000 });
 * const outcome = await writer.setMaintenance(12, true, 'upgrade (drainwatch plan p1)');
 * if (!outcome.ok) log.error(outcome.detail);
 */
export class ManagementWriter {
  private readonly agent: Agent;
  private readonly authorization: string | undefined;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly secrets: (string | undefined)[];
  /** Requests sent (each attempt counts). */
  requests = 0;

  constructor(private readonly options: ManagementWriterOptions) {
    const tls = options.tls ?? {};
    this.agent = new Agent({
      connections: 1,
      keepAliveTimeout: 10_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: { timeout: options.timeoutMs, rejectUnauthorized: !tls.insecureSkipVerify, ...(tls.ca ? { ca: tls.ca } : {}) },
    });
    let basic: string | undefined;
    if (options.token) this.authorization = `Bearer ${options.token}`;
    else if (options.username !== undefined && options.password !== undefined) {
      basic = Buffer.from(`${options.username}:${options.password}`, 'utf8').toString('base64');
      this.authorization = `Basic ${basic}`;
    }
    this.secrets = [options.password, options.token, basic];
    this.attempts = Math.max(1, Math.floor(options.attempts ?? 4));
    this.backoffMs = Math.max(0, options.backoffMs ?? 1000);
    this.sleep = options.sleep ?? sleep;
  }

  /** Delay before retry number `retry` (1-based). */
  backoff(retry: number): number {
    return Math.min(this.backoffMs * 2 ** (retry - 1), MAX_BACKOFF_MS);
  }

  /**
   * Sets (or clears) maintenance on one configuration record. Never throws; `signal` aborts the
   * current attempt and any further ones.
   */
  async setMaintenance(configurationId: number, maintenance: boolean, reason: string | null, options: { signal?: AbortSignal } = {}): Promise<WriteOutcome> {
    const body = JSON.stringify({ maintenance_mode: maintenance, ...(reason !== null ? { maintenance_mode_reason: reason } : {}) });
    const url = new URL(`${CONFIGURATION_WORKER_VM_PATH}${configurationId}/`, this.options.url);
    url.username = '';
    url.password = '';
    let last: WriteOutcome = { ok: false, status: null, kind: 'network', detail: 'not attempted', attempts: 0 };
    for (let attempt = 1; attempt <= this.attempts; attempt += 1) {
      if (options.signal?.aborted) return { ok: false, status: null, kind: 'aborted', detail: 'cancelled before the write was sent', attempts: attempt - 1 };
      last = await this.attempt(url, body, attempt, options.signal);
      if (last.ok || last.kind === 'aborted' || (last.status !== null && !retryable(last.status))) return last;
      if (attempt < this.attempts) await this.sleep(this.backoff(attempt), options.signal);
    }
    if (last.ok || this.attempts === 1) return last;
    return { ...last, detail: `${last.detail} (gave up after ${this.attempts} attempts)` };
  }

  private async attempt(url: URL, body: string, attempt: number, signal: AbortSignal | undefined): Promise<WriteOutcome> {
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    this.requests += 1;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: 'PATCH',
        dispatcher: this.agent,
        signal: combined,
        body,
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          'user-agent': 'drainwatch',
          ...(this.authorization ? { authorization: this.authorization } : {}),
        },
      });
    } catch (error) {
      if (signal?.aborted) return { ok: false, status: null, kind: 'aborted', detail: 'cancelled during the write', attempts: attempt };
      if (deadline.aborted) return { ok: false, status: null, kind: 'timeout', detail: `no answer within ${this.options.timeoutMs}ms`, attempts: attempt };
      return { ok: false, status: null, kind: 'network', detail: redactDetail(describe(error), this.secrets), attempts: attempt };
    }
    const status = response.statusCode;
    let text = '';
    try {
      text = await readLimited(response.body);
    } catch {
      // The status is what matters; a body cut short only loses detail.
    }
    if (status >= 200 && status <= 299) return { ok: true, status, attempts: attempt };
    const kind = status === 401 || status === 403 ? 'auth' : 'http';
    const hint = status === 401 ? ' (check management.username and its password or token)' : status === 403 ? ' (the account may lack permission to change worker_vm configuration)' : '';
    const detail = redactDetail(`HTTP ${status}${hint}${text.trim() ? `: ${text}` : ''}`, this.secrets);
    return { ok: false, status, kind, detail, attempts: attempt };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  async destroy(): Promise<void> {
    await this.agent.destroy();
  }
}

async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) {
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: { code?: unknown } }).cause;
  const codes = [code, cause?.code].filter((c): c is string => typeof c === 'string' && !error.message.includes(c));
  return [...new Set(codes), error.message].filter(Boolean).join(' ') || 'network error';
}
