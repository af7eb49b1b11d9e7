// One small error hierarchy with stable `code` strings; match on `code`, not `instanceof`.

export type DrainwatchErrorCode =
  | 'DW_MANAGEMENT_AUTH'
  | 'DW_MANAGEMENT_HTTP'
  | 'DW_MANAGEMENT_MALFORMED'
  | 'DW_MANAGEMENT_NETWORK';

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
