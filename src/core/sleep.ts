// An abortable wait on timers alone (no I/O), shared by the CLI's polling and the Management Node writer's back-off.

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects: callers check the signal
 * themselves, so an abort reads like a shortened wait rather than an error to catch).
 *
 * @example await sleep(1000, controller.signal);
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
