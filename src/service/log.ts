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
