// Probe outcome classification: HTTP status and network error codes to stable reasons, the maintenance message of a 503.

import { sanitize } from '../../core/text.js';
import type { ProbeReason } from '../../core/verdict.js';

/** The reason for an HTTP status other than 200 and 503. */
export function httpReason(status: number): ProbeReason {
  if (status === 404) return 'http_404';
  if (status >= 500) return 'http_5xx';
  if (status >= 400) return 'http_4xx';
  if (status >= 300) return 'http_3xx';
  return 'error';
}

/** The `result` (or `message`) text of a maintenance answer's JSON, sanitised; '' when there is none. */
export function maintenanceMessage(chunks: readonly Buffer[] | null): string {
  if (!chunks) return '';
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: unknown; message?: unknown };
    const text = typeof parsed.result === 'string' ? parsed.result : typeof parsed.message === 'string' ? parsed.message : '';
    return sanitize(text);
  } catch {
    return '';
  }
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);

const CODE_REASONS: Record<string, ProbeReason> = {
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_NONAME: 'dns',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
};

/** Maps an undici / Node error to a stable reason by its `code` (walking `cause` and aggregate errors). */
export function classifyError(error: unknown): ProbeReason {
  for (const code of errorCodes(error)) {
    if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return 'tls';
    const reason = CODE_REASONS[code];
    if (reason) return reason;
  }
  return 'error';
}

function errorCodes(error: unknown, depth = 0): string[] {
  if (typeof error !== 'object' || error === null || depth > 4) return [];
  const codes: string[] = [];
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') codes.push(code);
  if (Array.isArray(errors)) for (const inner of errors) codes.push(...errorCodes(inner, depth + 1));
  if (cause) codes.push(...errorCodes(cause, depth + 1));
  return codes;
}
