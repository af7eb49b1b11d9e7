// The one hono app every HTTP surface registers on, with the middleware they all share.

import { Hono } from 'hono';
import type { Logger } from '../../core/logger.js';

/**
 * Creates the shared hono app; front-ends and operator surfaces add their routes before the
 * server starts. A handler that throws is logged with its path and answers a plain JSON 500
 * (never a stack trace to the client).
 *
 * @example
 * const app = createHttpApp(logger);
 * app.get('/healthz', (c) => c.json({ status: 'ok' }));
 */
export function createHttpApp(logger: Logger): Hono {
  const app = new Hono();
  app.onError((error, c) => {
    logger.error({ err: error, path: c.req.path }, 'HTTP handler failed');
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}
