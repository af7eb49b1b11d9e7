// log.format: text — pino's JSON lines turned into one readable line each, for a terminal.

import { Writable } from 'node:stream';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
// Fields every line has, or that the line already shows in front.
const SKIP = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

function value(field: unknown): string {
  if (typeof field === 'string') return /[\s="]/.test(field) ? JSON.stringify(field) : field;
  if (typeof field === 'object' && field !== null && 'message' in field) {
    // An error: its message (and code) only; the stack is for log.format json.
    const error = field as { message?: unknown; code?: unknown };
    return JSON.stringify(error.code ? `${String(error.code)}: ${String(error.message)}` : String(error.message));
  }
  return JSON.stringify(field);
}

/**
 * One pino JSON line as `TIME LEVEL message key=value ...`; lines that are not JSON pass through.
 *
 * @example
 * formatTextLine('{"level":30,"time":"2026-01-01T00:00:00.000Z","msg":"started","port":9555}')
 * // '2026-01-01T00:00:00.000Z INFO  started port=9555'
 */
export function formatTextLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = LEVELS[Number(record.level)] ?? String(record.level);
  const fields = Object.entries(record)
    .filter(([key]) => !SKIP.has(key))
    .map(([key, field]) => `${key}=${value(field)}`);
  return [String(record.time ?? ''), level.padEnd(5), String(record.msg ?? ''), ...fields].filter((part) => part !== '').join(' ');
}

/**
 * A stream pino can write to that writes text lines to `out`.
 *
 * @example pino({}, textDestination(process.stderr))
 */
export function textDestination(out: NodeJS.WritableStream): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      pending += chunk.toString();
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        out.write(`${formatTextLine(pending.slice(0, newline))}\n`);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
      done();
    },
  });
}
