// One small error hierarchy with stable `code` strings; match on `code`, not `instanceof`.

export type DrainwatchErrorCode =
  | 'DW_CONFIG_INVALID'
  | 'DW_UNKNOWN_NODE'
  | 'DW_CLOSED'
  | 'DW_MANAGEMENT_AUTH'
  | 'DW_MANAGEMENT_HTTP'
  | 'DW_MANAGEMENT_MALFORMED'
  | 'DW_MANAGEMENT_NETWORK'
  | 'DW_COMMAND_FAILED'
  | 'DW_BAD_REQUEST';

/** Base error: `code` is stable and documented, `message` is for people. */
export class DrainwatchError extends Error {
  readonly code: DrainwatchErrorCode;
  constructor(code: DrainwatchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DrainwatchError';
    this.code = code;
  }
}

/** True when `error` carries the given code (works across module copies). */
export function hasCode(error: unknown, code: DrainwatchErrorCode): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
