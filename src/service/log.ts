// Structured JSON logging (pino) for the service; one line per event.

import { pino } from 'pino';
import type { Logger } from '../core/logger.js';

export type LogOptions = { level: string; destination?: NodeJS.WritableStream };

/** Creates the process logger; JSON lines on stderr by default. */
export function createLogger(options: LogOptions): Logger {
  return pino(
    { level: options.level, base: { service: 'drainwatch' }, timestamp: pino.stdTimeFunctions.isoTime },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  ) as unknown as Logger;
}
