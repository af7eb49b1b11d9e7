// The plan fields the API answer and the plan file both write: one place for their snake_case names and ISO times.

import type { Plan } from './maintenance-plan.js';

/** Epoch milliseconds as ISO 8601 text; null stays null. */
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The plan's top-level fields up to `waiting_reason`, in wire order; `next` and `nodes` differ per reader and follow. */
export function planHeaderJson(plan: Plan): {
  id: string;
  state: Plan['state'];
  reason: string;
  spacing_ms: number;
  created_by: string;
  created_at: string | null;
  updated_at: string | null;
  ended_at: string | null;
  waiting_reason: string | null;
} {
  return {
    id: plan.id,
    state: plan.state,
    reason: plan.reason,
    spacing_ms: plan.spacingMs,
    created_by: plan.createdBy,
    created_at: isoTime(plan.createdAt),
    updated_at: isoTime(plan.updatedAt),
    ended_at: isoTime(plan.endedAt),
    waiting_reason: plan.waitingReason,
  };
}
