// Persists the maintenance plan next to the override state file (atomic write) so a restart resumes it.

import { readFileSync, renameSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { cleanStaleTempFiles, writeFileAtomic } from './atomic-write.js';
import { isoTime, planHeaderJson } from '../core/plan-json.js';
import type { Logger } from '../core/logger.js';
import type { Plan, PlanNode, PlanNodeState, PlanState } from '../core/maintenance-plan.js';

/*
 * File format (JSON, written whole every time), at `<state.file>.plan.json`:
 *
 *   {
 *     "format": "drainwatch-maintenance-plan",
 *     "version": 1,
 *     "saved_at": "<ISO-8601>",
 *     "plan": null | {
 *       "id", "state", "reason", "spacing_ms", "created_by", "created_at", "updated_at", "ended_at",
 *       "waiting_reason", "next": null | { "name", "not_before" },
 *       "nodes": [{ "name", "configuration_id", "state", "write_started_at", "written_at",
 *                   "entered_at", "confirmed_at", "drained_at", "calls", "detail" }]
 *     }
 *   }
 *
 * Times are ISO-8601 or null. A node whose `write_started_at` is set was handed to the writer
 * before the file was written, so after a crash it is never written a second time.
 */
export const PLAN_FILE_FORMAT = 'drainwatch-maintenance-plan';
export const PLAN_FILE_VERSION = 1;

/** Where the plan lives for a given `state.file` (null: in memory only). */
export function planFileFor(stateFile: string | null): string | null {
  return stateFile === null ? null : `${stateFile}.plan.json`;
}

/** Serialises a plan (or none) to the file text (pure). */
export function formatPlan(plan: Plan | null, now: number): string {
  const body = plan && {
    ...planHeaderJson(plan),
    next: plan.next && { name: plan.next.name, not_before: isoTime(plan.next.notBefore) },
    nodes: plan.nodes.map((node) => ({
      name: node.name,
      configuration_id: node.configurationId,
      state: node.state,
      write_started_at: isoTime(node.writeStartedAt),
      written_at: isoTime(node.writtenAt),
      entered_at: isoTime(node.enteredAt),
      confirmed_at: isoTime(node.confirmedAt),
      drained_at: isoTime(node.drainedAt),
      calls: node.calls,
      detail: node.detail,
    })),
  };
  return `${JSON.stringify({ format: PLAN_FILE_FORMAT, version: PLAN_FILE_VERSION, saved_at: isoTime(now), plan: body }, null, 2)}\n`;
}

const PLAN_STATES: readonly PlanState[] = ['running', 'waiting', 'done', 'cancelled', 'failed'];
const NODE_STATES: readonly PlanNodeState[] = ['queued', 'entering', 'draining', 'drained', 'failed'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function time(value: unknown, where: string): number | null {
  if (value === null || value === undefined) return null;
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new Error(`${where} must be an ISO-8601 time or null`);
  return ms;
}

function text(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new Error(`${where} must be a string`);
  return value;
}

function count(value: unknown, where: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`${where} must be a non-negative number or null`);
  return value;
}

/** Parses the file text (pure); throws an Error with a plain sentence when it is not a plan file. */
export function parsePlan(source: string): Plan | null {
  let raw: unknown;
  try {
    raw = JSON.parse(source);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(raw) || raw.format !== PLAN_FILE_FORMAT) throw new Error(`not a drainwatch plan file (expected "format": "${PLAN_FILE_FORMAT}")`);
  if (raw.version !== PLAN_FILE_VERSION) throw new Error(`unsupported version ${JSON.stringify(raw.version)} (this drainwatch reads version ${PLAN_FILE_VERSION})`);
  const p = raw.plan;
  if (p === null) return null;
  if (!isObject(p)) throw new Error('"plan" must be an object or null');
  if (!PLAN_STATES.includes(p.state as PlanState)) throw new Error(`plan.state must be one of ${PLAN_STATES.join(', ')}`);
  if (!Array.isArray(p.nodes)) throw new Error('plan.nodes must be a list');
  const nodes = p.nodes.map((n: unknown, i: number): PlanNode => {
    const where = `plan.nodes[${i}]`;
    if (!isObject(n)) throw new Error(`${where} must be an object`);
    if (!NODE_STATES.includes(n.state as PlanNodeState)) throw new Error(`${where}.state must be one of ${NODE_STATES.join(', ')}`);
    const id = n.configuration_id;
    if (id !== null && (typeof id !== 'number' || !Number.isInteger(id))) throw new Error(`${where}.configuration_id must be an integer or null`);
    return {
      name: text(n.name, `${where}.name`),
      configurationId: id as number | null,
      state: n.state as PlanNodeState,
      writeStartedAt: time(n.write_started_at, `${where}.write_started_at`),
      writtenAt: time(n.written_at, `${where}.written_at`),
      enteredAt: time(n.entered_at, `${where}.entered_at`),
      confirmedAt: time(n.confirmed_at, `${where}.confirmed_at`),
      drainedAt: time(n.drained_at, `${where}.drained_at`),
      calls: count(n.calls, `${where}.calls`),
      detail: text(n.detail, `${where}.detail`),
    };
  });
  const spacing = count(p.spacing_ms, 'plan.spacing_ms');
  const createdAt = time(p.created_at, 'plan.created_at');
  if (spacing === null || createdAt === null) throw new Error('plan.spacing_ms and plan.created_at are required');
  const next = isObject(p.next) ? { name: text(p.next.name, 'plan.next.name'), notBefore: time(p.next.not_before, 'plan.next.not_before') } : null;
  return {
    id: text(p.id, 'plan.id'),
    state: p.state as PlanState,
    reason: text(p.reason, 'plan.reason'),
    spacingMs: spacing,
    createdBy: text(p.created_by, 'plan.created_by'),
    createdAt,
    updatedAt: time(p.updated_at, 'plan.updated_at') ?? createdAt,
    endedAt: time(p.ended_at, 'plan.ended_at'),
    waitingReason: p.waiting_reason === null || p.waiting_reason === undefined ? null : text(p.waiting_reason, 'plan.waiting_reason'),
    next,
    nodes,
  };
}

export type PlanStoreOptions = {
  /** The override `state.file`; the plan goes to `planFileFor(file)`. Null keeps it in memory only. */
  stateFile: string | null;
  logger: Logger;
  clock?: () => number;
  onWrite?: (result: 'ok' | 'failed') => void;
};

/**
 * Reads and writes the plan file. Loading never throws: a missing file means no plan; an
 * unusable one is moved aside to `<file>.corrupt` and the service starts without a plan.
 *
 * @example
 * const store = new PlanStore({ stateFile: config.state.file, logger });
 * const plan = store.load();
 * await store.save(plan);
 */
export class PlanStore {
  private file: string | null;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly onWrite: ((result: 'ok' | 'failed') => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: PlanStoreOptions) {
    this.file = planFileFor(options.stateFile);
    this.logger = options.logger;
    this.clock = options.clock ?? Date.now;
    this.onWrite = options.onWrite;
  }

  get path(): string | null {
    return this.file;
  }

  /** Follows a changed `state.file` (config reload); the next save writes there. */
  setStateFile(stateFile: string | null): void {
    this.file = planFileFor(stateFile);
  }

  /** Reads the plan (synchronously, once at start, before the runner steps). */
  load(): Plan | null {
    const file = this.file;
    if (!file) return null;
    cleanStaleTempFiles(dirname(file), basename(file));
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.logger.error({ file }, `cannot read plan file ${file}: ${code ?? (error as Error).message}; starting without a maintenance plan`);
      return null;
    }
    try {
      return parsePlan(source);
    } catch (error) {
      const corrupt = `${file}.corrupt`;
      try {
        renameSync(file, corrupt);
      } catch {
        // leave it where it is; the next save replaces it
      }
      this.logger.error({ file, kept_as: corrupt }, `plan file ${file} is unusable: ${(error as Error).message}; moved aside, starting without a maintenance plan`);
      return null;
    }
  }

  /** Writes the plan atomically; writes are serialised. Resolves false (and logs) when it failed. */
  save(plan: Plan | null): Promise<boolean> {
    const run = this.queue.then(() => this.write(plan));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(plan: Plan | null): Promise<boolean> {
    const file = this.file;
    if (!file) return true;
    try {
      await writeFileAtomic(file, formatPlan(plan, this.clock()), { mode: 0o600 });
      this.onWrite?.('ok');
      return true;
    } catch (error) {
      this.onWrite?.('failed');
      this.logger.error({ file, err: error }, `cannot write plan file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; the plan goes on but will not resume after a restart`);
      return false;
    }
  }
}
