// Pure reading of HAProxy's `show servers state <backend>` answer, and its comparison with a verdict.

import { sanitize } from '../../core/text.js';
import type { NodeVerdict } from '../../core/snapshot.js';

/*
 * `show servers state [<backend>]`, as HAProxy 2.6 answers it (doc/management.txt, 9.3; the
 * same format as the server-state file):
 *
 *   answer  = version LF header LF *( row LF ) LF      ; ends with one empty line
 *   version = "1"
 *   header  = "# " column *( SP column )               ; 2.6: be_id be_name srv_id srv_name
 *             ; srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight
 *             ; srv_time_since_last_change srv_check_status srv_check_result srv_check_health
 *             ; srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port
 *             ; srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
 *   row     = field *( SP field )                      ; one per column, "-" when empty
 *
 * Columns are read by name from the header: versions add columns at the end.
 * Errors come back as one line followed by an empty line: "Can't find backend.",
 * "Permission denied", "Unknown command...".
 *
 *   srv_op_state      0 stopped (DOWN), 1 starting, 2 running (UP), 3 stopping (soft-stop)
 *   srv_admin_state   bit flags: 0x01 FMAINT (forced: `set server ... state maint`, agent
 *                     "maint"), 0x02 IMAINT (inherited from a tracked server), 0x04 CMAINT
 *                     (`disabled` in the config), 0x08 FDRAIN (forced: `state drain`, agent
 *                     "drain"), 0x10 IDRAIN (inherited), 0x20 RMAINT (address resolution
 *                     failed), 0x40 FQDN changed (not a maintenance); MAINT wins over DRAIN
 *   srv_uweight       current weight (an agent's "N%" sets it to srv_iweight × N / 100)
 *   srv_check_state,  check flags: 0x02 configured, 0x04 enabled, 0x08 paused (maintenance),
 *   srv_agent_state   0x10 agent; 0 = no such check
 */

/** Admin-state flags (HAProxy's enum srv_admin). */
export const ADMIN_FLAGS = { FMAINT: 0x01, IMAINT: 0x02, CMAINT: 0x04, FDRAIN: 0x08, IDRAIN: 0x10, RMAINT: 0x20 } as const;
const MAINT_MASK = ADMIN_FLAGS.FMAINT | ADMIN_FLAGS.IMAINT | ADMIN_FLAGS.CMAINT | ADMIN_FLAGS.RMAINT;
const DRAIN_MASK = ADMIN_FLAGS.FDRAIN | ADMIN_FLAGS.IDRAIN;
const CHECK_CONFIGURED = 0x02;
const CHECK_ENABLED = 0x04;

export type OpState = 'stopped' | 'starting' | 'running' | 'stopping';
const OP_STATES: readonly OpState[] = ['stopped', 'starting', 'running', 'stopping'];

/** One server as HAProxy holds it. */
export type ServerState = {
  backend: string;
  name: string;
  address: string;
  port: number | null;
  opState: OpState;
  /** Raw srv_admin_state flags. */
  adminFlags: number;
  admin: 'ready' | 'drain' | 'maint';
  /** Current (srv_uweight) and configured (srv_iweight) weight. */
  weight: number;
  initialWeight: number;
  /** null when the answer has no such column (older versions). */
  checkEnabled: boolean | null;
  agentConfigured: boolean | null;
  agentEnabled: boolean | null;
};

/** `missingBackend`: HAProxy answered, but has no such backend (a config mismatch, not a read failure). */
export type ServersStateResult = { ok: true; servers: ServerState[] } | { ok: false; reason: string; missingBackend?: true };

const REQUIRED = ['be_name', 'srv_name', 'srv_addr', 'srv_op_state', 'srv_admin_state', 'srv_uweight', 'srv_iweight'] as const;
const MAX_ROWS = 10_000;

/**
 * Parses a `show servers state <backend>` answer; rows of other backends are skipped.
 * Anything that is not that answer (an error line, garbage, a cut-off answer, a row with
 * missing fields) gives `{ ok: false, reason }` with a reason fit for the target's status.
 *
 * @example
 * parseServersState('1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n' +
 *   '2 pexip 1 px01 10.0.1.11 2 8 100 100\n\n', 'pexip')
 * // { ok: true, servers: [{ name: 'px01', admin: 'drain', opState: 'running', weight: 100, ... }] }
 */
export function parseServersState(text: string, backend?: string): ServersStateResult {
  if (text.trim() === '') return { ok: false, reason: 'empty answer to show servers state' };
  const lines = text.split('\n');
  const first = (lines[0] ?? '').trim();
  if (first !== '1') {
    if (/can't find backend/i.test(first)) return { ok: false, reason: `HAProxy has no backend "${backend ?? '?'}"`, missingBackend: true };
    if (/permission denied/i.test(first)) return { ok: false, reason: 'HAProxy refused show servers state: permission denied (the stats socket needs level user or higher)' };
    return { ok: false, reason: `unexpected answer to show servers state: "${sanitize(first, 80)}"` };
  }
  // HAProxy ends every answer with an empty line; without it the answer was cut off.
  if (!text.endsWith('\n\n')) return { ok: false, reason: 'incomplete answer to show servers state (cut off before its end)' };
  const header = lines[1] ?? '';
  if (!header.startsWith('# ')) return { ok: false, reason: 'show servers state answer has no header line' };
  const columns = header.slice(2).trim().split(/ +/);
  const index = new Map(columns.map((column, i) => [column, i]));
  const missing = REQUIRED.filter((column) => !index.has(column));
  if (missing.length > 0) return { ok: false, reason: `show servers state header lacks ${missing.join(', ')}` };

  const servers: ServerState[] = [];
  for (let n = 2; n < lines.length; n += 1) {
    const line = lines[n]!;
    if (line === '' || line.startsWith('#')) continue;
    if (servers.length >= MAX_ROWS) return { ok: false, reason: `show servers state answer has more than ${MAX_ROWS} servers` };
    const cells = line.split(' ');
    if (cells.length < columns.length) {
      return { ok: false, reason: `show servers state line ${n + 1} has ${cells.length} fields, the header names ${columns.length}` };
    }
    const cell = (column: string) => {
      const i = index.get(column);
      return i === undefined ? undefined : cells[i];
    };
    const row = parseRow(cell);
    if (typeof row === 'string') return { ok: false, reason: `show servers state line ${n + 1}: ${row}` };
    if (backend !== undefined && row.backend !== backend) continue;
    servers.push(row);
  }
  return { ok: true, servers };
}

function parseRow(cell: (column: string) => string | undefined): ServerState | string {
  const int = (column: string): number | string => {
    const text = cell(column) ?? '';
    return /^\d{1,10}$/.test(text) ? Number(text) : `${column} is "${sanitize(text, 20)}", not a number`;
  };
  const optionalFlags = (column: string): number | null | string => (cell(column) === undefined ? null : int(column));
  const op = int('srv_op_state');
  const adminFlags = int('srv_admin_state');
  const weight = int('srv_uweight');
  const initialWeight = int('srv_iweight');
  const check = optionalFlags('srv_check_state');
  const agent = optionalFlags('srv_agent_state');
  for (const value of [op, adminFlags, weight, initialWeight, check, agent]) if (typeof value === 'string') return value;
  const opState = OP_STATES[op as number];
  if (!opState) return `srv_op_state ${op} is not one of 0..3`;
  const portText = cell('srv_port');
  const port = portText && /^\d{1,5}$/.test(portText) ? Number(portText) : null;
  const flags = adminFlags as number;
  return {
    backend: cell('be_name')!,
    name: cell('srv_name')!,
    address: cell('srv_addr')!,
    port,
    opState,
    adminFlags: flags,
    admin: flags & MAINT_MASK ? 'maint' : flags & DRAIN_MASK ? 'drain' : 'ready',
    weight: weight as number,
    initialWeight: initialWeight as number,
    checkEnabled: check === null ? null : ((check as number) & CHECK_ENABLED) !== 0,
    agentConfigured: agent === null ? null : ((agent as number) & CHECK_CONFIGURED) !== 0,
    agentEnabled: agent === null ? null : ((agent as number) & CHECK_ENABLED) !== 0,
  };
}

/** The server's current weight as a percentage of its configured one (what `weight N%` set). */
export function weightPercent(server: Pick<ServerState, 'weight' | 'initialWeight'>): number {
  if (server.initialWeight <= 0) return 0;
  return Math.round((server.weight * 100) / server.initialWeight);
}

/**
 * True when HAProxy's current weight is what `weight N%` gives for this server: HAProxy keeps
 * integer weights (configured weight × N / 100, cut to an integer), so anything less than one
 * weight unit away matches.
 *
 * @example weightMatches(33, { weight: 3, initialWeight: 10 }) // true
 */
export function weightMatches(percent: number, server: Pick<ServerState, 'weight' | 'initialWeight'>): boolean {
  const expected = (server.initialWeight * percent) / 100;
  return Math.abs(server.weight - expected) < 1;
}

/** What a server holds, as the short text the sync model shows ("ready 65%", "drain", "maint", "down"). */
export function describeServer(server: ServerState): string {
  if (server.admin === 'maint') return 'maint';
  const up = server.opState === 'running' || server.opState === 'starting';
  if (server.admin === 'drain') return up ? 'drain' : 'drain, down';
  return up ? `ready ${weightPercent(server)}%` : server.opState === 'stopping' ? 'stopping' : 'down';
}

export type ServerComparison = { have: string; matches: boolean };

/**
 * Compares a server with the verdict HAProxy was told (DESIGN §2 table): ready W → admin ready,
 * up, weight W% (within HAProxy's rounding); draining → admin drain; maint → admin maint;
 * down → not up (any admin state: the agent and push mode leave it alone); unknown → anything.
 *
 * @example compareServer({ state: 'draining', weight: 100 }, server) // { have: 'drain', matches: true }
 */
export function compareServer(verdict: Pick<NodeVerdict, 'state' | 'weight'>, server: ServerState): ServerComparison {
  const have = describeServer(server);
  const up = server.opState === 'running' || server.opState === 'starting';
  switch (verdict.state) {
    case 'ready': {
      const percent = Math.min(100, Math.max(1, Math.round(verdict.weight)));
      return { have, matches: server.admin === 'ready' && up && weightMatches(percent, server) };
    }
    case 'draining':
      return { have, matches: server.admin === 'drain' };
    case 'maint':
      return { have, matches: server.admin === 'maint' };
    case 'down':
      return { have, matches: !up || server.admin === 'maint' };
    case 'unknown':
      return { have, matches: true };
  }
}

/**
 * Why an agent-mode server cannot follow the agent, or null: no agent check configured, or
 * the agent check disabled at run time (`disable agent`), or maintenance from the config.
 *
 * @example agentProblem({ ...server, agentConfigured: true, agentEnabled: false }) // 'agent check disabled ...'
 */
export function agentProblem(server: ServerState): string | null {
  if (server.agentConfigured === false) return 'server has no agent-check: the agent cannot steer it';
  if (server.agentEnabled === false) return 'agent check disabled on this server (by hand: `enable agent` restores it)';
  if (server.adminFlags & ADMIN_FLAGS.CMAINT) return 'server is disabled in the HAProxy config';
  return null;
}
