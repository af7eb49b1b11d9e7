// Writes to the simulated Management Node: PATCH/PUT of a configuration worker_vm record's maintenance fields.

import type { IncomingMessage } from 'node:http';

/** One write the simulated Management Node received (answered or refused), in arrival order. */
export type ManagementWrite = {
  /** Epoch ms when the request arrived. */
  at: number;
  method: string;
  path: string;
  /** The `{id}` of `/api/admin/configuration/v1/worker_vm/{id}/`, or null when the path had none. */
  configurationId: number | null;
  /** Name of the node written, or null when no node has that id. */
  node: string | null;
  /** The parsed JSON body, or null when it was not a JSON object. */
  body: Record<string, unknown> | null;
  /** HTTP status the simulator answered. */
  status: number;
};

/** The maintenance change a write asks for; fields absent from the body stay as they are. */
export type MaintenanceChange = { maintenance?: boolean; reason?: string };

const MAX_WRITE_BYTES = 64 * 1024;

/** Reads a request body up to 64 KiB; resolves null when it is larger (the caller answers 413). */
export function readWriteBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_WRITE_BYTES) {
        done = true;
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

/*
 * Body grammar (JSON object), as Pexip's configuration API takes it:
 *   maintenance_mode         true | false        optional for PATCH
 *   maintenance_mode_reason  string (≤ 250)      optional
 * PUT replaces the record, so it carries the other fields too (Pexip's own SDK sends the whole
 * record): they are accepted and ignored, since the simulator models only maintenance.
 */
/**
 * Validates a write body; returns the change or a Tastypie-like error message.
 *
 * @example parseWriteBody('{"maintenance_mode": true, "maintenance_mode_reason": "upgrade"}')
 * // { ok: true, change: { maintenance: true, reason: 'upgrade' }, body: {...} }
 */
export function parseWriteBody(
  text: string,
): { ok: true; change: MaintenanceChange; body: Record<string, unknown> } | { ok: false; error: string; body: Record<string, unknown> | null } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'The format indicated \'application/json\' had no available deserialization method or the body was not valid JSON.', body: null };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: 'The request body must be a JSON object.', body: null };
  const body = raw as Record<string, unknown>;
  const change: MaintenanceChange = {};
  const mode = body.maintenance_mode;
  if (mode !== undefined) {
    if (typeof mode !== 'boolean') return { ok: false, error: `maintenance_mode: '${String(mode)}' value must be either True or False.`, body };
    change.maintenance = mode;
  }
  const reason = body.maintenance_mode_reason;
  if (reason !== undefined && reason !== null) {
    if (typeof reason !== 'string') return { ok: false, error: 'maintenance_mode_reason: must be a string.', body };
    if (reason.length > 250) return { ok: false, error: 'maintenance_mode_reason: Ensure this value has at most 250 characters.', body };
    change.reason = reason;
  }
  return { ok: true, change, body };
}
