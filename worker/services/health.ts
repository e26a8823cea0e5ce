/**
 * The database's health as the whole worker process sees it: the first
 * transient error of any service marks it down (one log line, one event), the
 * first success after that marks it up again.
 */
import { log } from "../../lib/log.ts";
import { describe, isTransient, type RetryHooks } from "../retry.ts";

/** Options of {@link DbHealth}. */
export interface DbHealthOptions {
  /** The process's worker id, for log lines. */
  worker: string;
  /** The database became unreachable (`error`: the first error seen). */
  onDown?(error: string): void;
  /** The database answers again after `downMs` of outage. */
  onUp?(downMs: number): void;
  /** True once the process has closed: retries give up. */
  closed?(): boolean;
}

/** Up or down, and since when. */
export class DbHealth {
  #opts: DbHealthOptions;
  #downSince: number | null = null;

  constructor(opts: DbHealthOptions) {
    this.#opts = opts;
  }

  /** True while no outage is known. */
  get up(): boolean {
    return this.#downSince === null;
  }

  /**
   * Reports an error of `source`: a transient one starts an outage (nothing
   * more when one is already known); any other is logged as an error.
   */
  down(err: unknown, source: string): void {
    if (!isTransient(err)) {
      log("error", "worker.db_error", { worker: this.#opts.worker, source, error: describe(err) });
      return;
    }
    if (this.#downSince !== null) return;
    this.#downSince = Date.now();
    log("warn", "db.unavailable", { worker: this.#opts.worker, source, error: describe(err) });
    this.#opts.onDown?.(describe(err));
  }

  /** Reports a success: ends a known outage (nothing when none is known). */
  ok(): void {
    if (this.#downSince === null) return;
    const downMs = Date.now() - this.#downSince;
    this.#downSince = null;
    log("info", "db.reconnected", { worker: this.#opts.worker, ms: downMs });
    this.#opts.onUp?.(downMs);
  }

  /** Retry hooks that report here and give up once the process closed (or `giveUp` says so). */
  hooks(label: string, giveUp?: () => boolean): RetryHooks {
    return {
      label,
      giveUp: () => (this.#opts.closed?.() ?? false) || (giveUp?.() ?? false),
      onDown: (err: unknown) => this.down(err, label),
      onUp: () => this.ok(),
    };
  }
}
