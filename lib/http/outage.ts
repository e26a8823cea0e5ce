/**
 * Database outages as the web process sees them, logged once each: a
 * `db.outage_started` line (warn) at the first request refused because the
 * database is unavailable, and a `db.outage_ended` line (info) with the count
 * of refused requests once a probe query succeeds again. However many
 * requests are refused in between, nothing else is written.
 */
import { log } from "../log.ts";

/** Options of {@link OutageLog}. */
export interface OutageLogOptions {
  /** A cheap query on the pool; its success ends the outage. */
  probe: () => Promise<unknown>;
  /** Pause before each probe while the database is unavailable (default 1000 ms). */
  probeMs?: number;
}

/** Counts the requests refused during an outage and logs its start and its end. */
export class OutageLog {
  #opts: OutageLogOptions;
  #since: number | null = null;
  #refused = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(opts: OutageLogOptions) {
    this.#opts = opts;
  }

  /**
   * A request was refused (503) because the database is unavailable. The
   * first one of an outage logs its start and begins probing for its end.
   */
  refused(): void {
    if (this.#closed) return;
    this.#refused++;
    if (this.#since !== null) return;
    this.#since = Date.now();
    log("warn", "db.outage_started", {
      message: "the database is unavailable; requests are answered 503 until it is back",
    });
    this.#schedule();
  }

  /** Stops probing (the app is closing). An outage in progress is not logged as ended. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => this.#probe(), this.#opts.probeMs ?? 1000);
  }

  async #probe(): Promise<void> {
    try {
      await this.#opts.probe();
    } catch {
      this.#schedule(); // still down (or the pool is closing: #schedule checks)
      return;
    }
    if (this.#closed || this.#since === null) return;
    log("info", "db.outage_ended", {
      refused_requests: this.#refused,
      down_ms: Date.now() - this.#since,
    });
    this.#since = null;
    this.#refused = 0;
  }
}
