// Simulator errors with stable `code` strings (the control API maps them to HTTP statuses).

export type SimulatorErrorCode =
  | 'SIM_BAD_INPUT'
  | 'SIM_UNKNOWN_NODE'
  | 'SIM_DUPLICATE_NODE'
  | 'SIM_LISTEN_FAILED'
  | 'SIM_CLOSED';

/** Base error: `code` is stable, `message` is a sentence for people. */
export class SimulatorError extends Error {
  readonly code: SimulatorErrorCode;
  constructor(code: SimulatorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimulatorError';
    this.code = code;
  }
}

/** Shorthand for the most common failure: the caller sent something invalid. */
export function badInput(message: string): SimulatorError {
  return new SimulatorError('SIM_BAD_INPUT', message);
}
