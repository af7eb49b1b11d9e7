// log.format: text turns pino's JSON lines into one readable line each, errors without their stack.

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatTextLine } from '../../src/service/log-text.js';
import { createLogger } from '../../src/service/log.js';

describe('text log lines', () => {
  it('puts time, level and message first and the fields after, quoting values with spaces', () => {
    const line = formatTextLine(JSON.stringify({ level: 40, time: '2026-12-02T04:00:00.000Z', service: 'drainwatch', msg: 'verdict changed', node: 'px02', reason: 'Software upgrade' }));
    expect(line).toBe('2026-12-02T04:00:00.000Z WARN  verdict changed node=px02 reason="Software upgrade"');
  });

  it('shows an error as its code and message, without the stack', () => {
    const line = formatTextLine(JSON.stringify({ level: 50, time: 't', msg: 'push failed', err: { type: 'Error', message: 'connect ECONNREFUSED /run/haproxy/admin.sock', code: 'ECONNREFUSED', stack: 'Error: ...\n    at x' } }));
    expect(line).toBe('t ERROR push failed err="ECONNREFUSED: connect ECONNREFUSED /run/haproxy/admin.sock"');
  });

  it('is what createLogger writes with format text, one line per event', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const logger = createLogger({ level: 'info', format: 'text', destination: out });
    logger.info({ node: 'px01' }, 'started');
    logger.debug({}, 'not shown');
    await new Promise((resolve) => setImmediate(resolve));
    expect(text).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO  started node=px01\n$/);
  });
});
