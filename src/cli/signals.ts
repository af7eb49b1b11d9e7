// Process signals: SIGTERM/SIGINT close with a grace period then destroy (a second one destroys at once), SIGHUP reloads.

/**
 * How long SIGTERM lets in-flight work (a probe, an `nginx -s reload`, an HTTP answer) finish
 * before what is left is destroyed. With the 1 s backstop below the process is gone within 4 s,
 * inside systemd's and Kubernetes' usual stop budgets.
 */
export const SHUTDOWN_GRACE_MS = 3000;

/** Past the grace period, destroy() has this long before the process exits regardless. */
const BACKSTOP_MS = 900;

/** What the handlers stop: `close(grace)` destroys by itself once the grace is over. */
export type Stoppable = { close(graceMs?: number): Promise<void>; destroy?(): Promise<void> };

export type SignalOptions = {
  graceMs?: number;
  /** Defaults to process.exit (tests pass a recorder). */
  exit?: (code: number) => void;
  /** Defaults to the real process. */
  target?: Pick<NodeJS.Process, 'on'>;
};

/**
 * Installs the handlers. SIGTERM/SIGINT: `close(graceMs)`, then exit 0; a second signal destroys
 * now and exits 130; either way a backstop exits if stopping itself hangs.
 *
 * @example installSignals(service, () => void service.reloadFromFile(path));
 */
export function installSignals(service: Stoppable, reload?: () => unknown, options: SignalOptions = {}): void {
  const graceMs = options.graceMs ?? SHUTDOWN_GRACE_MS;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const target = options.target ?? process;
  let stopping = false;
  const backstop = (code: number, afterMs: number) => {
    // Not unref'd: this timer is what guarantees the process ends.
    setTimeout(() => {
      process.stderr.write(`drainwatch: still stopping after ${afterMs} ms; exiting now\n`);
      exit(code);
    }, afterMs);
  };
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`drainwatch: ${signal} again, stopping now\n`);
      backstop(130, BACKSTOP_MS);
      void Promise.resolve(service.destroy?.()).catch(() => undefined).then(() => exit(130));
      return;
    }
    stopping = true;
    backstop(1, graceMs + BACKSTOP_MS);
    void service.close(graceMs).then(
      () => exit(0),
      (error: unknown) => {
        process.stderr.write(`drainwatch: stopping failed: ${(error as Error).message ?? String(error)}\n`);
        exit(1);
      },
    );
  };
  target.on('SIGTERM', () => stop('SIGTERM'));
  target.on('SIGINT', () => stop('SIGINT'));
  if (reload) target.on('SIGHUP', () => void reload());
}
