// PUT/DELETE /api/v1/nodes/{name}/override: authenticated, validated, audited and persisted operator overrides.

import { readCappedBody } from '../http/read-body.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import { nodeToJson } from './node-json.js';
import { MAX_REASON_LENGTH, parseOverrideBody } from './override-body.js';
import { sanitize } from '../../core/text.js';
import { OverrideStore } from '../../persist/override-store.js';
import type { Context } from 'hono';
import type { Override } from '../../core/verdict.js';
import type { Frontend, FrontendContext } from '../../frontends/frontend.js';

export type OverrideApiOptions = { clock?: () => number };

const MAX_USER_LENGTH = 64;

/** Constant-time token check: both sides are hashed first so lengths always match. */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

type AuthResult = { ok: true } | { ok: false; status: 401 | 403; result: 'unauthorized' | 'forbidden'; error: string; challenge?: string };

function authorize(header: string | undefined, expected: string | undefined): AuthResult {
  if (!expected) {
    return {
      ok: false,
      status: 403,
      result: 'forbidden',
      error:
        'overrides are disabled because no admin token is configured; set http.admin_token_env (the name of an environment variable holding the token) ' +
        'or http.admin_token_file (a file holding it) in the config, then reload (SIGHUP) or restart drainwatch',
    };
  }
  const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!match) {
    return { ok: false, status: 401, result: 'unauthorized', error: 'missing bearer token: send "Authorization: Bearer <token>"', challenge: 'Bearer realm="drainwatch"' };
  }
  if (!tokenMatches(match[1] as string, expected)) {
    return { ok: false, status: 401, result: 'unauthorized', error: 'the bearer token is not valid', challenge: 'Bearer realm="drainwatch", error="invalid_token"' };
  }
  return { ok: true };
}

function remoteAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // not served by @hono/node-server (app.request() in unit tests)
  }
}

/** The optional X-Drainwatch-User header, trimmed to printable text of bounded length. */
function operatorName(c: Context): string | null {
  const raw = c.req.header('x-drainwatch-user');
  if (!raw) return null;
  const clean = sanitize(raw, { max: MAX_USER_LENGTH, allow: 'ascii', ellipsis: '' });
  return clean === '' ? null : clean;
}

/**
 * Registers the override routes and restores saved overrides from `state.file`
 * (before the first probe, so a restart never briefly undoes an operator's drain).
 *
 * @example
 * // curl -X PUT -H "Authorization: Bearer $TOKEN" -d '{"state":"drain","reason":"swap disk","expires_in":"2h"}' \
 * //   127.0.0.1:9555/api/v1/nodes/px01/override
 */
export function createOverrideApi(context: FrontendContext, options: OverrideApiOptions = {}): Frontend {
  const { app, core, source, metrics, config, secrets } = context;
  const logger = context.logger.child({ component: 'override-api' });
  const clock = options.clock ?? context.clock;
  const store = new OverrideStore({
    file: config().state.file,
    logger,
    clock,
    onWrite: (result) => metrics.stateFileWrites.inc({ result }),
  });

  const loaded = store.load();
  for (const [name, override] of loaded.overrides) core.setOverride(name, override);
  if (store.path) {
    logger.info(
      { file: store.path, restored: [...loaded.overrides.keys()], expired_while_stopped: loaded.expired },
      `restored ${loaded.overrides.size} override(s) from the state file`,
    );
  } else {
    logger.info({}, 'state.file is not set: operator overrides are kept in memory only and will not survive a restart');
  }
  // Expiry happens inside the core; any visible change is a cue to re-save (unchanged content is not rewritten).
  const unsubscribe = source.onChange(() => void store.save(core.listOverrides()));
  if (loaded.expired.length > 0) void store.save(core.listOverrides());

  const path = '/api/v1/nodes/:name/override';

  const guard = async (c: Context, method: 'PUT' | 'DELETE') => {
    const auth = authorize(c.req.header('authorization'), secrets().adminToken);
    if (!auth.ok) {
      metrics.overrideRequests.inc({ method, result: auth.result });
      logger.warn({ node: c.req.param('name'), method, remote: remoteAddress(c), user: operatorName(c), status: auth.status }, `override request refused: ${auth.error}`);
      if (auth.challenge) c.header('WWW-Authenticate', auth.challenge);
      return c.json({ error: auth.error }, auth.status);
    }
    const body = await readCappedBody(c.req.raw, config().http.body_limit);
    if (!body.ok) {
      metrics.overrideRequests.inc({ method, result: body.status === 413 ? 'too_large' : 'bad_request' });
      return c.json({ error: body.error }, body.status);
    }
    const name = c.req.param('name') as string;
    if (!source.snapshot().has(name)) {
      metrics.overrideRequests.inc({ method, result: 'not_found' });
      return c.json({ error: `unknown node "${name}"`, known: source.snapshot().names() }, 404);
    }
    return { name, body: body.text };
  };

  const who = (c: Context) => {
    const user = operatorName(c);
    const remote = remoteAddress(c);
    return { user, remote, by: `${user ?? 'admin token holder'} from ${remote}` };
  };

  app.put(path, async (c) => {
    const checked = await guard(c, 'PUT');
    if (checked instanceof Response) return checked;
    const { name, body } = checked;
    const parsed = parseOverrideBody(body);
    if (!parsed.ok) {
      metrics.overrideRequests.inc({ method: 'PUT', result: 'bad_request' });
      return c.json({ error: `invalid override: ${parsed.problems.join('; ')}`, problems: parsed.problems }, 400);
    }
    const { request } = parsed;
    const actor = who(c);
    const now = clock();
    const previous = core.listOverrides().get(name) ?? null;
    const override: Override = {
      state: request.state,
      reason: request.reason,
      by: actor.by,
      setAt: now,
      expiresAt: request.expiresInMs === null ? null : now + request.expiresInMs,
    };
    core.setOverride(name, override);
    logger.info(
      {
        audit: 'override.set', node: name, state: override.state, reason: override.reason,
        expires_at: override.expiresAt === null ? null : new Date(override.expiresAt).toISOString(),
        user: actor.user, remote: actor.remote, credential: 'admin token',
        previous: previous && { state: previous.state, reason: previous.reason, by: previous.by },
      },
      `override on ${name} set to ${override.state} by ${actor.by}: ${override.reason}`,
    );
    const persisted = await store.save(core.listOverrides());
    metrics.overrideRequests.inc({ method: 'PUT', result: 'ok' });
    const verdict = source.snapshot().get(name);
    return c.json({
      node: verdict ? nodeToJson(verdict, clock()) : null,
      persisted: Boolean(store.path) && persisted,
      ...(store.path ? {} : { warning: 'state.file is not set: this override will not survive a restart' }),
      ...(store.path && !persisted ? { warning: `could not write ${store.path}: this override will not survive a restart (see the logs)` } : {}),
    });
  });

  app.delete(path, async (c) => {
    const checked = await guard(c, 'DELETE');
    if (checked instanceof Response) return checked;
    const { name, body } = checked;
    // DELETE may carry {"reason": "..."} for the audit log; nothing else.
    let reason: string | null = null;
    if (body.trim() !== '') {
      let raw: unknown;
      try {
        raw = JSON.parse(body);
      } catch (error) {
        raw = undefined;
        metrics.overrideRequests.inc({ method: 'DELETE', result: 'bad_request' });
        return c.json({ error: `the request body is not valid JSON (${(error as Error).message}); DELETE takes no body or {"reason": "..."}` }, 400);
      }
      const keys = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? Object.keys(raw) : null;
      const value = keys ? (raw as Record<string, unknown>).reason : undefined;
      if (!keys || keys.some((key) => key !== 'reason') || (value !== undefined && (typeof value !== 'string' || value.length > MAX_REASON_LENGTH))) {
        metrics.overrideRequests.inc({ method: 'DELETE', result: 'bad_request' });
        return c.json({ error: `DELETE takes no body or {"reason": "..."} (a string of at most ${MAX_REASON_LENGTH} characters)` }, 400);
      }
      reason = typeof value === 'string' ? sanitize(value, { max: MAX_REASON_LENGTH }) : null;
    }
    const actor = who(c);
    const previous = core.listOverrides().get(name) ?? null;
    const cleared = core.clearOverride(name, actor.by);
    if (cleared) {
      logger.info(
        {
          audit: 'override.clear', node: name, reason, user: actor.user, remote: actor.remote, credential: 'admin token',
          previous: previous && { state: previous.state, reason: previous.reason, by: previous.by },
        },
        `override on ${name} cleared by ${actor.by}${reason ? `: ${reason}` : ''}`,
      );
    }
    const persisted = await store.save(core.listOverrides());
    metrics.overrideRequests.inc({ method: 'DELETE', result: 'ok' });
    const verdict = source.snapshot().get(name);
    return c.json({
      cleared,
      ...(cleared ? {} : { message: `node "${name}" had no override` }),
      node: verdict ? nodeToJson(verdict, clock()) : null,
      persisted: Boolean(store.path) && persisted,
    });
  });

  return {
    name: 'override-api',
    async reload() {
      const file = config().state.file;
      if (file !== store.path) {
        logger.info({ from: store.path, to: file }, 'state.file changed: writing current overrides to the new file');
        store.setFile(file);
        await store.save(core.listOverrides());
      }
    },
    async close() {
      unsubscribe();
      await store.save(core.listOverrides());
      store.close(); // no retry timer outlives the service
    },
    // The last save is a small local file write; losing it would lose an operator's override.
    destroy() {
      return this.close();
    },
  };
}
