// Keeps one NGINX upstream include file in line with the verdicts: atomic write, `nginx -t`, debounced reload.

import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { cleanStaleTempFiles, writeFileAtomic } from '../../persist/atomic-write.js';
import { directivesOf, renderUpstream } from './render.js';
import { nginxReading, nginxTargetId } from './read-back.js';
import type { RenderMemory, UpstreamRendering } from './render.js';
import type { CommandOutcome, NginxState } from './read-back.js';
import type { LoadBalancerSync } from '../../core/lb-sync.js';
import type { NginxUpstreamConfig } from '../../config/schema.js';
import type { Logger } from '../../core/logger.js';
import type { Snapshot, SnapshotSource } from '../../core/snapshot.js';
import type { Metrics } from '../../operator/metrics/registry.js';

/** What running one command produced. `output` is stderr then stdout, trimmed to a few KiB. */
export type CommandResult = { ok: boolean; code: number | null; signal: string | null; timedOut: boolean; aborted?: boolean; output: string };

/** Runs an argument vector (never through a shell) with a timeout; `signal` aborts it (killing its process group). */
export type CommandRunner = (argv: readonly string[], timeoutMs: number, signal?: AbortSignal) => Promise<CommandResult>;

const OUTPUT_LIMIT = 4096;
// After a failed test or reload: retry 1 s later, doubling up to 30 s, whether or not the verdicts change.
const MAX_RETRY_MS = 30_000;

/**
 * Runs `argv[0]` with the remaining arguments, no shell, in a process group of its own;
 * on timeout or abort kills the whole group (a wrapper script or `sudo` must not leave
 * its child behind).
 *
 * @example await runCommand(['nginx', '-t'], 30_000, controller.signal) // { ok: true, code: 0, ... }
 */
export const runCommand: CommandRunner = (argv, timeoutMs, signal) =>
  new Promise((resolve) => {
    const [file, ...args] = argv;
    if (file === undefined || signal?.aborted) {
      const aborted = file !== undefined;
      resolve({ ok: false, code: null, signal: null, timedOut: false, aborted, output: aborted ? 'aborted before start' : 'empty command' });
      return;
    }
    let output = '';
    let timedOut = false;
    let aborted = false;
    let settled = false;
    const child = spawn(file, args, { shell: false, detached: true, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    const finish = (result: Omit<CommandResult, 'output' | 'timedOut' | 'aborted'>, extra = ''): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ ...result, timedOut, aborted, output: `${output}${extra}`.trim().slice(0, OUTPUT_LIMIT) });
    };
    const collect = (chunk: Buffer): void => {
      if (output.length < OUTPUT_LIMIT) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => finish({ ok: false, code: null, signal: null }, `\n${error.message}`));
    child.once('close', (code, exitSignal) => {
      const why = timedOut ? `\ntimed out after ${timeoutMs} ms` : aborted ? '\naborted' : '';
      finish({ ok: code === 0 && !timedOut && !aborted, code, signal: exitSignal }, why);
    });
  });

// NGINX's master reads the file: keep the mode an operator gave it, 0644 for a new one.
const FILE_MODE = { mode: 0o644, keepMode: true } as const;

export type NginxWriterOptions = {
  upstream: NginxUpstreamConfig;
  source: SnapshotSource;
  logger: Logger;
  metrics: Metrics;
  /** Default: `runCommand` (tests inject a fake). */
  run?: CommandRunner;
  clock?: () => number;
  /** Where to report what the file on disk and the last test/reload say (the load-balancer sync model). */
  sync?: LoadBalancerSync;
  /** How often the file on disk is checked against what was written (rewritten when it drifted). Default 2 s. */
  readIntervalMs?: number;
};

/**
 * Writes one upstream's include file when the verdicts change what NGINX would
 * read, validates it with `test_command` (restoring the previous file when that
 * fails) and then runs `reload_command`. Changes are collected for `settle` ms
 * and reloads are at least `min_reload_interval` apart: every reload leaves old
 * workers alive for as long as their connections last, so a flapping node must
 * not cause a reload storm.
 *
 * @example
 * const writer = new NginxWriter({ upstream, source: core, logger, metrics });
 * await writer.start();
 * writer.rendering().text; // what GET /nginx/{upstream}.conf serves
 */
export class NginxWriter {
  private options: NginxWriterOptions;
  private readonly run: CommandRunner;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private current: UpstreamRendering;
  /** Directives in the file NGINX was last told about (null: nothing known yet). */
  private applied: string | null = null;
  private lastTest: CommandOutcome | null = null;
  private lastReload: CommandOutcome | null = null;
  private verifyTimer: NodeJS.Timeout | null = null;
  /** The read of the file on disk in flight (idle() waits for it, so tests on fake timers see its result). */
  private verifying: Promise<void> | null = null;
  /** Counts applies: a disk read is only judged when no apply began or ran around it. */
  private generation = 0;
  /** The include file as last read (for the sync model). */
  private disk: NginxState['disk'] = { text: null };
  private reloadOwed = false;
  private retryMs = 0;
  private firstChangeAt: number | null = null;
  private lastReloadAt = Number.NEGATIVE_INFINITY;
  /** After a failed write or reload: no new attempt before this time (epoch ms). */
  private retryAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private pending = false;
  private unsubscribe: (() => void) | null = null;
  private closed = false;
  /** Aborted by destroy(): kills a running test/reload command's process group. */
  private readonly abort = new AbortController();
  private problemsSaid = '';
  private failOpenSaid = false;

  constructor(options: NginxWriterOptions) {
    this.options = options;
    this.run = options.run ?? runCommand;
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger.child({ upstream: options.upstream.name });
    this.current = this.render(options.source.published(), null);
  }

  get name(): string {
    return this.options.upstream.name;
  }

  get file(): string {
    return this.options.upstream.file;
  }

  /** Reads what is on disk, subscribes to changes and schedules the first write. */
  async start(): Promise<void> {
    const stale = cleanStaleTempFiles(dirname(this.file), basename(this.file));
    if (stale.length > 0) this.logger.warn({ file: this.file, removed: stale }, 'removed temp files an interrupted write left next to the NGINX include file');
    try {
      this.applied = directivesOf(await readFile(this.file, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.warn({ file: this.file, err: (error as Error).message }, 'cannot read the current NGINX include file; it will be rewritten');
      }
    }
    if (this.closed) return;
    this.unsubscribe = this.options.source.onChange((snapshot) => this.onChange(snapshot));
    this.onChange(this.options.source.published());
    const { sync } = this.options;
    if (sync) {
      const { settle, min_reload_interval: minInterval } = this.options.upstream;
      const readMs = this.options.readIntervalMs ?? 2000;
      sync.register({ id: nginxTargetId(this.name), kind: 'nginx', target: this.file, backend: this.name, budgetMs: settle + minInterval + readMs + 1000 });
      this.verifyTimer = setInterval(() => this.startVerify(), readMs);
      this.verifyTimer.unref?.();
      this.startVerify();
    }
  }

  /** The latest rendering (what GET /nginx/{upstream}.conf serves; it may still be settling). */
  rendering(): UpstreamRendering {
    return this.current;
  }

  /**
   * Takes new timing/commands (same file). A reload (SIGHUP) re-renders and retries a failed
   * test or reload at once: the operator may have fixed the command or NGINX's own config.
   */
  update(upstream: NginxUpstreamConfig): void {
    this.options = { ...this.options, upstream };
    if (this.closed) return;
    this.retryMs = 0;
    this.retryAt = 0;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.onChange(this.options.source.published());
  }

  /** Stops listening and waits for a write/test/reload in progress. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.verifyTimer) clearInterval(this.verifyTimer);
    this.verifyTimer = null;
    await this.running;
    await this.verifying;
    this.options.sync?.unregister(nginxTargetId(this.name));
  }

  /** Resolves once no write/test/reload or read of the file is running (a scheduled one that is not yet due does not count). */
  async idle(): Promise<void> {
    while (this.running || this.verifying) {
      await this.running;
      await this.verifying;
    }
  }

  /** Stops now: kills a running test/reload command (its whole process group), then settles. Idempotent. */
  async destroy(): Promise<void> {
    this.abort.abort();
    await this.close();
  }

  private render(snapshot: Snapshot, previous: RenderMemory | null): UpstreamRendering {
    return renderUpstream(snapshot, { upstream: this.name, previous, now: this.clock() });
  }

  private onChange(snapshot: Snapshot): void {
    if (this.closed) return;
    this.current = this.render(snapshot, this.current.memory);
    const { failOpen, problems } = this.current;
    this.options.metrics.nginxFailOpen.set({ upstream: this.name }, failOpen ? 1 : 0);
    // Said once real verdicts exist: the first rendering, before any, fails open by design.
    if (failOpen && !this.failOpenSaid && snapshot.nodes.some((node) => node.state !== 'unknown')) {
      this.logger.warn({ servers: this.current.servers }, 'no node is ready: keeping draining/unknown nodes in NGINX at weight 1 so the upstream is not empty (fail open)');
      this.failOpenSaid = true;
    } else if (!failOpen && this.failOpenSaid) {
      // Only an announced fail-open ends.
      this.logger.info({}, 'a node is ready again: NGINX fail-open ended');
      this.failOpenSaid = false;
    }
    const said = problems.join('\n');
    if (said !== this.problemsSaid && problems.length > 0) this.logger.warn({ problems }, 'NGINX rendering problems');
    this.problemsSaid = said;
    if (this.current.directives !== this.applied || this.reloadOwed) this.schedule();
    // A new rendering is `converging` at once (against the file as last read), not at the next read.
    if (this.verifyTimer) this.report();
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.running || this.timer) {
      this.pending = true;
      return;
    }
    const now = this.clock();
    this.firstChangeAt ??= now;
    const { settle, min_reload_interval: minInterval } = this.options.upstream;
    const due = Math.max(this.firstChangeAt + settle, this.lastReloadAt + minInterval, this.retryAt);
    this.timer = setTimeout(() => {
      this.timer = null;
      // apply() handles its own failures; anything it did not foresee is logged, never an unhandled rejection.
      const applying = this.apply().catch((error: unknown) => this.logger.error({ err: error }, 'NGINX apply failed unexpectedly'));
      this.running = applying.finally(() => {
        this.running = null;
        if (this.pending && !this.closed) {
          this.pending = false;
          if (this.current.directives !== this.applied || this.reloadOwed) this.schedule();
        }
        void this.verify();
      });
    }, Math.max(0, due - now));
    this.timer.unref?.();
  }

  private async apply(): Promise<void> {
    this.generation += 1;
    this.firstChangeAt = null;
    this.pending = false;
    const rendering = this.current;
    const labels = { upstream: this.name };
    if (rendering.servers === 0) {
      this.options.metrics.nginxRenders.inc({ ...labels, result: 'empty' });
      this.logger.warn({ file: this.file }, 'no node can be rendered: leaving the NGINX include file as it is');
      return;
    }
    if (rendering.directives === this.applied) {
      if (this.reloadOwed) await this.reload();
      else this.options.metrics.nginxRenders.inc({ ...labels, result: 'unchanged' });
      return;
    }

    const { file, test_command: testCommand, command_timeout: timeout } = this.options.upstream;
    let previous: Buffer | null = null;
    try {
      previous = await readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return this.writeFailed(error);
    }
    try {
      await writeFileAtomic(file, rendering.text, FILE_MODE);
    } catch (error) {
      return this.writeFailed(error);
    }

    const test = await this.run(testCommand, timeout, this.abort.signal);
    if (test.aborted || this.abort.signal.aborted) {
      // Destroyed mid-test: an untested file must not stay for someone else's reload to pick up.
      await (previous === null ? rm(file, { force: true }) : writeFileAtomic(file, previous, FILE_MODE)).catch(() => undefined);
      return;
    }
    this.lastTest = outcome(test, this.clock());
    if (!test.ok) {
      // The same rendering is tried again after a back-off: a failing `nginx -t` is often
      // transient (another include mid-edit, a certificate being replaced, a DNS blip).
      this.backOff();
      try {
        if (previous === null) await rm(file, { force: true });
        else await writeFileAtomic(file, previous, FILE_MODE);
        // Counted once the previous file is back, so whoever reads the metric sees the restored file.
        this.options.metrics.nginxRenders.inc({ ...labels, result: 'test_failed' });
        this.logger.error(
          { file, command: testCommand, code: test.code, timed_out: test.timedOut, output: test.output, version: rendering.version },
          'NGINX rejected the new upstream file; previous file restored, NGINX not reloaded',
        );
      } catch (error) {
        this.options.metrics.nginxRenders.inc({ ...labels, result: 'test_failed' });
        this.options.metrics.nginxRenders.inc({ ...labels, result: 'restore_failed' });
        this.logger.error({ file, err: (error as Error).message, output: test.output }, 'NGINX rejected the new upstream file AND restoring the previous one failed: fix the file by hand');
      }
      return;
    }
    this.applied = rendering.directives;
    this.options.metrics.nginxRenders.inc({ ...labels, result: 'written' });
    this.logger.info({ file, version: rendering.version, servers: rendering.servers, in_service: rendering.usable }, 'NGINX upstream file written and tested');
    await this.reload();
  }

  private async reload(): Promise<void> {
    const { reload_command: command, command_timeout: timeout } = this.options.upstream;
    this.lastReloadAt = this.clock();
    const result = await this.run(command, timeout, this.abort.signal);
    if (!result.aborted) this.lastReload = outcome(result, this.clock());
    if (result.aborted || this.abort.signal.aborted) {
      this.reloadOwed = true; // the file is tested; the reload was cut short by destroy()
      this.logger.warn({ command }, 'NGINX reload command aborted (drainwatch stopping); NGINX may still read the old file');
      return;
    }
    if (result.ok) {
      this.reloadOwed = false;
      this.retryMs = 0;
      this.retryAt = 0;
      this.options.metrics.nginxReloads.inc({ upstream: this.name, result: 'ok' });
      this.logger.info({ command }, 'NGINX reloaded');
      return;
    }
    // The file passed the test and stays; retry the reload, backing off up to a minute.
    this.reloadOwed = true;
    this.backOff();
    this.options.metrics.nginxReloads.inc({ upstream: this.name, result: 'failed' });
    this.logger.error({ command, code: result.code, timed_out: result.timedOut, output: result.output, retry_in_ms: this.retryMs }, 'NGINX reload failed; will retry');
  }

  /** Schedules a retry after a failure: 1 s, doubling up to 30 s (reloads still keep min_reload_interval apart). */
  private backOff(): void {
    this.retryMs = Math.min(MAX_RETRY_MS, Math.max(1000, this.retryMs * 2));
    this.retryAt = this.clock() + this.retryMs;
    this.pending = true;
  }

  /** Reads the file on disk, rewrites it when someone changed it since drainwatch wrote it, and reports. */
  /** One read of the file on disk at a time; a slow disk skips a tick instead of piling reads up. */
  private startVerify(): void {
    if (this.verifying) return;
    this.verifying = this.verify().finally(() => {
      this.verifying = null;
    });
  }

  private async verify(): Promise<void> {
    if (this.closed || !this.options.sync) return;
    // A read that overlaps a write/test/restore may see a file that is about to change again.
    const generation = this.generation;
    const busy = this.running !== null;
    let disk: NginxState['disk'];
    try {
      disk = { text: await readFile(this.file, 'utf8') };
    } catch (error) {
      disk = (error as NodeJS.ErrnoException).code === 'ENOENT' ? { text: null } : { error: (error as Error).message.slice(0, 200) };
    }
    if (this.closed) return;
    this.disk = disk;
    // A write, test or reload on its way changes the file itself: only judge a quiet moment.
    const quiet = !busy && !this.running && !this.timer && this.generation === generation;
    if (quiet && 'text' in disk && (disk.text === null ? null : directivesOf(disk.text)) !== this.applied && this.current.servers > 0) {
      this.logger.warn({ file: this.file }, 'the NGINX include file changed on disk, not by drainwatch; rewriting it');
      this.applied = disk.text === null ? null : directivesOf(disk.text);
      this.options.sync.repaired(nginxTargetId(this.name));
      this.report();
      this.schedule();
      return;
    }
    this.report();
  }

  private report(): void {
    const { sync } = this.options;
    if (!sync || this.closed) return;
    const now = this.clock();
    const state: NginxState = {
      upstream: this.name, file: this.file, desired: this.current.text, disk: this.disk,
      lastTest: this.lastTest, lastReload: this.lastReload, reloadOwed: this.reloadOwed,
      retryAt: this.retryAt > now ? this.retryAt : null, now,
    };
    sync.report(nginxTargetId(this.name), nginxReading(state, this.options.source.published()));
  }

  private writeFailed(error: unknown): void {
    this.options.metrics.nginxRenders.inc({ upstream: this.name, result: 'write_failed' });
    this.backOff();
    this.logger.error({ file: this.file, err: (error as Error).message, retry_in_ms: this.retryMs }, 'cannot write the NGINX upstream file; will retry');
  }
}

function outcome(result: CommandResult, at: number): CommandOutcome {
  return { ok: result.ok, at, code: result.code, timedOut: result.timedOut, output: result.output };
}
