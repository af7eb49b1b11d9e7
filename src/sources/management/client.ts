// Management Node client: paginated worker_vm lists over one keep-alive connection, credentials only to the configured origin.

import { request } from 'undici';
import { DrainwatchError } from '../../core/errors.js';
import { redactExcerpt } from '../../core/redact.js';
import { silentLogger } from '../../core/logger.js';
import { BODY_TOO_LARGE, createHttpAgent, describeNetworkError, readBounded } from '../http-client.js';
import type { Agent, Dispatcher } from 'undici';
import type { DrainwatchErrorCode } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ManagementObservation, NodeSpec } from '../../core/verdict.js';
import { malformed } from './wire.js';
import type { Page } from './wire.js';
import type { HttpTlsOptions } from '../http-client.js';


/** Largest response body accepted from the Management Node (a page of 1000 worker_vm objects is ~1 MiB). */
const BODY_LIMIT = 16 * 1024 * 1024;

/** Strips user info from a URL for messages (credentials never belong in logs). */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '<invalid URL>';
  }
}

export type ManagementClientOptions = {
  /** Base URL, e.g. https://manager.example.com */
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** OAuth2 bearer token (instead of user and password). */
  token?: string | undefined;
  /** Where the secret came from, for messages (e.g. "the password from $DRAINWATCH_MGMT_PASSWORD"). */
  credentialHint?: string;
  /** Whole-request deadline per page. */
  timeoutMs: number;
  pageSize: number;
  maxPages: number;
  /** TLS settings shared with the prober: CA bundle contents and the skip-verification opt-in. */
  tls?: Pick<HttpTlsOptions, 'ca' | 'insecureSkipVerify'>;
};

/**
 * Reads paginated worker_vm lists from a Management Node over one keep-alive connection.
 *
 * @example
 * const client = new ManagementClient({ url, username: 'admin', password, timeoutMs: 5000, pageSize: 100, maxPages: 100 });
 * const { objects } = await client.list(STATUS_WORKER_VM_PATH, parseStatusPage);
 */
export class ManagementClient {
  private readonly agent: Agent;
  private readonly authorization: string | undefined;
  requests = 0;

  constructor(private readonly options: ManagementClientOptions) {
    // No servername: the Management Node is reached by the name in its URL, which is what it is checked against.
    this.agent = createHttpAgent({
      timeoutMs: options.timeoutMs,
      connections: 1, // pages are fetched one after another: one connection is all a sweep needs
      keepAliveMs: 60_000,
      tls: { ca: options.tls?.ca, insecureSkipVerify: options.tls?.insecureSkipVerify },
    });
    if (options.token) this.authorization = `Bearer ${options.token}`;
    else if (options.username !== undefined && options.password !== undefined) {
      this.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`, 'utf8').toString('base64')}`;
    }
  }

  /**
   * Follows `meta.next` from the first page until it is null, at most `maxPages` pages.
   * Objects are de-duplicated by id (offset pages can shift when nodes are added mid-sweep);
   * `consistent` is false when `total_count` changed between pages.
   */
  async list<T extends { id: number | string }>(
    path: string,
    parse: (body: unknown, where: string) => Page<T>,
  ): Promise<{ objects: T[]; pages: number; consistent: boolean }> {
    const first = new URL(path, this.options.url);
    first.searchParams.set('limit', String(this.options.pageSize));
    first.searchParams.set('offset', '0');
    const origin = first.origin;
    const objects = new Map<number | string, T>();
    let url: URL | null = first;
    let pages = 0;
    let total: number | null | undefined;
    let consistent = true;
    while (url) {
      if (pages >= this.options.maxPages) {
        throw new DrainwatchError(
          'DW_MANAGEMENT_MALFORMED',
          `Management Node list ${redact(first.toString())} has more than management.max_pages (${this.options.maxPages}) pages of ${this.options.pageSize}; raise max_pages or page_size. Nothing was changed`,
        );
      }
      const body = await this.getJson(url);
      const page = parse(body, redact(url.toString()));
      pages += 1;
      for (const object of page.objects) if (!objects.has(object.id)) objects.set(object.id, object);
      if (total === undefined) total = page.totalCount;
      else if (page.totalCount !== total) consistent = false;
      if (!page.next) break;
      let next: URL;
      try {
        next = new URL(page.next, url);
      } catch {
        throw malformed(redact(url.toString()), `"meta.next" is not a URL (${JSON.stringify(page.next).slice(0, 80)})`);
      }
      // Credentials go only to the configured origin, whatever a response says.
      if (next.origin !== origin) throw malformed(redact(url.toString()), `"meta.next" points to another origin (${next.origin})`);
      if (next.toString() === url.toString()) throw malformed(redact(url.toString()), '"meta.next" points to the same page');
      url = next;
    }
    return { objects: [...objects.values()], pages, consistent };
  }

  private async getJson(url: URL): Promise<unknown> {
    const where = redact(url.toString());
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    let response: Dispatcher.ResponseData;
    this.requests += 1;
    try {
      response = await request(url, {
        method: 'GET',
        dispatcher: this.agent,
        signal: deadline,
        headers: {
          accept: 'application/json',
          'user-agent': 'drainwatch',
          ...(this.authorization ? { authorization: this.authorization } : {}),
        },
      });
    } catch (error) {
      const what = deadline.aborted ? `no answer within ${this.options.timeoutMs}ms` : describeNetworkError(error);
      throw new DrainwatchError('DW_MANAGEMENT_NETWORK', `cannot reach the Management Node at ${where}: ${what}`, { cause: error });
    }
    const status = response.statusCode;
    if (status === 401 || status === 403) {
      await response.body.dump().catch(() => undefined);
      const who = this.options.token
        ? 'the bearer token'
        : this.options.username !== undefined
          ? `user "${this.options.username}"`
          : 'an anonymous request (no management.username configured)';
      const hint = this.options.credentialHint ? `; check ${this.options.credentialHint}` : '';
      const verb = status === 401 ? 'rejected the credentials of' : 'denied access to';
      throw new DrainwatchError('DW_MANAGEMENT_AUTH', `Management Node ${verb} ${who} at ${where} (HTTP ${status})${hint}`);
    }
    let text: string;
    try {
      text = (await readBounded(response.body, BODY_LIMIT)).toString('utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === BODY_TOO_LARGE) throw malformed(where, (error as Error).message);
      const what = deadline.aborted ? `body not complete within ${this.options.timeoutMs}ms` : describeNetworkError(error);
      throw new DrainwatchError('DW_MANAGEMENT_NETWORK', `reading the answer of the Management Node at ${where} failed: ${what}`, { cause: error });
    }
    if (status < 200 || status > 299) {
      // Error pages may echo the request (our Authorization header included): a short redacted excerpt only.
      const type = String(response.headers['content-type'] ?? 'no content type').split(';')[0];
      const secrets = [this.options.password, this.options.token];
      const detail = redactExcerpt(text, { secrets, ...(this.options.username !== undefined ? { username: this.options.username } : {}) });
      throw new DrainwatchError('DW_MANAGEMENT_HTTP', `Management Node answered HTTP ${status} (${type}) at ${where}${detail ? `: ${detail}` : ''}`);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw malformed(where, `not valid JSON (${(error as Error).message})`);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  async destroy(): Promise<void> {
    await this.agent.destroy();
  }
}
