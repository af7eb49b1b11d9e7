// Structured JSON logging (pino) for the service; one line per event.

import { pino } from 'pino';
import { textDestination } from './log-text.js';
import type { Logger } from '../core/logger.js';

export type LogOptions = { level: string; format?: 'json' | 'text'; destination?: NodeJS.WritableStream };

/** Creates the process logger; JSON lines on stderr by default, readable lines with format 'text'. */
export function createLogger(options: LogOptions): Logger {
  return pino(
    { level: options.level, base: { service: 'drainwatch' }, timestamp: pino.stdTimeFunctions.isoTime },
    (options.format === 'text' ? textDestination(options.destination ?? process.stderr) : (options.destination ?? process.stderr)) as pino.DestinationStream,
  ) as unknown as Logger;
}

const RANKS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/**
 * The process logger with a level that a reload can change. pino children copy their parent's
 * level when created (the service makes them at start), so the level is checked here, in one
 * place every child shares, and pino itself lets everything through.
 *
 * @example
 * const { logger, setLevel } = createReloadableLogger({ level: 'info' });
 * setLevel('debug'); // children made earlier log debug lines from now on
 */
export function createReloadableLogger(options: LogOptions): { logger: Logger; setLevel(level: string): void } {
  const state = { rank: RANKS[options.level] ?? RANKS.info! };
  const root = createLogger({ ...options, level: 'trace' }) as unknown as Record<string, (fields: object, message?: string) => void> & { child(b: object): unknown };
  const gate = (target: typeof root): Logger => {
    const at = (name: string) => (fields: object, message?: string) => {
      if ((RANKS[name] ?? 0) >= state.rank) target[name]!(fields, message);
    };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      // Not in the core Logger type, but some callers (and pino-shaped tests) use them.
      ...({ trace: at('trace'), fatal: at('fatal') } as object),
      child: (bindings: object) => gate(target.child(bindings) as typeof root),
    };
  };
  return {
    logger: gate(root),
    setLevel(level) {
      state.rank = RANKS[level] ?? state.rank;
    },
  };
}
