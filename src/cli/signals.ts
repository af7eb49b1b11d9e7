// Process signals: SIGTERM/SIGINT close gracefully (a second one exits at once), SIGHUP reloads.

/** Installs the handlers; `close` should finish in-flight work within its grace period. */
export function installSignals(service: { close(graceMs?: number): Promise<void> }, reload?: () => void): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`drainwatch: ${signal} again, exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    void service.close(10_000).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (reload) process.on('SIGHUP', () => reload());
}
