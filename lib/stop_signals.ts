/**
 * SIGINT/SIGTERM handling of the long-running entry points: the first signal
 * asks for a graceful stop, a later one forces an exit.
 *
 * One request to stop often arrives twice: Ctrl-C in a terminal (or
 * `kill -INT -- -<pgid>`, or `docker stop` of a `deno task` entry) signals the
 * whole process group, and `deno task` forwards the same signal to its child,
 * which so gets it twice within milliseconds. Only a signal at least
 * {@link FORCE_AFTER_MS} after the first counts as a second, deliberate one.
 */

/** How long after the first signal a further one is taken as the same request. */
export const FORCE_AFTER_MS = 1000;

/** Options of {@link onStopSignals}. */
export interface StopSignalOptions {
  /** Called once, on the first SIGINT or SIGTERM. */
  stop: (signal: Deno.Signal) => void;
  /** Called on each signal that arrives `forceAfterMs` or more after the first. */
  force: (signal: Deno.Signal) => void;
  /** Default {@link FORCE_AFTER_MS}. */
  forceAfterMs?: number;
  /** Milliseconds clock; default `performance.now`. */
  now?: () => number;
}

/**
 * The signal handler with the rule above, without installing it (see
 * {@link onStopSignals}): call it with each signal as it arrives.
 */
export function stopSignalHandler(opts: StopSignalOptions): (signal: Deno.Signal) => void {
  const now = opts.now ?? (() => performance.now());
  const gap = opts.forceAfterMs ?? FORCE_AFTER_MS;
  let first: number | null = null;
  return (signal) => {
    const t = now();
    if (first === null) {
      first = t;
      opts.stop(signal);
    } else if (t - first >= gap) {
      opts.force(signal);
    }
    // else: the same request delivered twice (process group and forwarder)
  };
}

/**
 * Listens for SIGINT and SIGTERM with {@link stopSignalHandler}; returns a
 * function that removes the listeners.
 */
export function onStopSignals(opts: StopSignalOptions): () => void {
  const handle = stopSignalHandler(opts);
  const listeners = (["SIGINT", "SIGTERM"] as const).map((sig) => {
    const fn = () => handle(sig);
    Deno.addSignalListener(sig, fn);
    return [sig, fn] as const;
  });
  return () => {
    for (const [sig, fn] of listeners) Deno.removeSignalListener(sig, fn);
  };
}
