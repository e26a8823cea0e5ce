/** A task run every so often, never two runs at once, until stopped. */

/** Options of {@link Periodic}. */
export interface PeriodicOptions {
  /** Period (ms); the mean period when `jitter`. */
  ms: number;
  /** Spread each wait ±50 % (so processes started together drift apart). */
  jitter?: boolean;
  /** Also run once at start, not a period later. */
  runNow?: boolean;
}

/**
 * Runs `fn` every `ms` after the previous run ended. `fn` should not throw
 * (a rejection is not caught here: services catch and report their own).
 */
export class Periodic {
  #fn: () => Promise<void>;
  #opts: PeriodicOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;

  constructor(fn: () => Promise<void>, opts: PeriodicOptions) {
    this.#fn = fn;
    this.#opts = opts;
  }

  /** Starts the schedule (and a first run when `runNow`); idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#opts.runNow) this.#fn();
    this.#tick();
  }

  /** Stops the schedule; a run in progress finishes but is not followed by another. */
  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
  }

  #tick(): void {
    const { ms, jitter } = this.#opts;
    const wait = jitter ? Math.round(ms * (0.5 + Math.random())) : ms;
    this.#timer = setTimeout(async () => {
      if (!this.#running) return;
      await this.#fn();
      if (this.#running) this.#tick();
    }, wait);
  }
}
