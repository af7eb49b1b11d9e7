// Pure Envoy health-check answers: verdict → status, headers and a one-line body; Host header → node name.

import { sanitize } from '../../core/text.js';
import { clampWeight } from '../../core/weight.js';
import type { NodeVerdict } from '../../core/snapshot.js';

const MAX_BODY_TEXT = 300;

/**
 * The status Envoy must list in `http_health_check.retriable_statuses` (envoy/health-check-bootstrap.yaml).
 * 504 "Gateway Timeout" is what `unknown` means: drainwatch has no fresh answer from the node.
 * A retriable status counts toward `unhealthy_threshold` instead of failing the host at once, so a
 * short gap in probing does not pull a node; a long one does.
 */
export const UNKNOWN_STATUS = 504;

export type HealthAnswer = { status: number; headers: Record<string, string>; body: string };

/**
 * Envoy HTTP health-check answer for one verdict (DESIGN §2). Envoy's rules, as relied on here:
 * a status in `expected_statuses` (default 200) passes; one in `retriable_statuses` counts toward
 * `unhealthy_threshold`; any other fails the host at once; `x-envoy-degraded` on a passing answer
 * marks the host degraded; `x-envoy-immediate-health-check-fail` fails it at once and excludes it.
 *
 *   ready    → 200                                        (+ x-envoy-degraded when verdict.degraded)
 *   draining → 503 + x-envoy-immediate-health-check-fail
 *   maint    → 503 + x-envoy-immediate-health-check-fail
 *   down     → 503
 *   unknown  → 504 (retriable)
 *
 * The body is one line for people: "<name> <state>[ weight W]: <reason>".
 *
 * @example healthAnswer(verdict).status // 200
 */
export function healthAnswer(verdict: NodeVerdict): HealthAnswer {
  const headers: Record<string, string> = { 'x-drainwatch-state': verdict.state };
  let status: number;
  switch (verdict.state) {
    case 'ready':
      status = 200;
      if (verdict.degraded) headers['x-envoy-degraded'] = 'true';
      break;
    case 'draining':
    case 'maint':
      status = 503;
      headers['x-envoy-immediate-health-check-fail'] = 'true';
      break;
    case 'down':
      status = 503;
      break;
    case 'unknown':
      status = UNKNOWN_STATUS;
      break;
  }
  const weight = verdict.state === 'ready' ? ` weight ${clampWeight(verdict.weight)}` : '';
  const degraded = verdict.state === 'ready' && verdict.degraded ? ' (degraded)' : '';
  return { status, headers, body: `${verdict.name} ${verdict.state}${weight}${degraded}: ${oneLine(verdict.reason)}\n` };
}

// The body is for people (Envoy reads only the status and headers): one line, bounded.
const oneLine = (text: string) => sanitize(text, { max: MAX_BODY_TEXT });

/** The node name in a Host header: the port suffix (and IPv6 brackets) removed. */
export function hostToName(host: string | undefined): string {
  if (!host) return '';
  const trimmed = host.trim();
  if (trimmed.startsWith('[')) {
    const end = trimmed.indexOf(']');
    return end === -1 ? trimmed : trimmed.slice(1, end);
  }
  const colon = trimmed.indexOf(':');
  // More than one colon without brackets is a bare IPv6 address: keep it whole.
  if (colon !== -1 && trimmed.indexOf(':', colon + 1) === -1) return trimmed.slice(0, colon);
  return trimmed;
}

const MAX_LISTED = 50;

/** The 404 text for a name that is not in the inventory: loud, because it is a configuration mistake. */
export function unknownNodeBody(name: string, known: readonly string[], how: string): string {
  const listed = known.slice(0, MAX_LISTED).join(', ');
  const more = known.length > MAX_LISTED ? ` and ${known.length - MAX_LISTED} more` : '';
  const subject = name === '' ? `no node name (${how} is empty)` : `unknown node "${oneLine(name)}" (from ${how})`;
  return `${subject}; known nodes: ${listed || '(none)'}${more}\n`;
}
