/**
 * LISTEN/NOTIFY channels and a coalescing notifier. A `NOTIFY` inside an
 * enqueue transaction serialises commits (Postgres takes a global lock at
 * commit for notifying transactions), so a busy producer does not notify in
 * its own transactions: after a commit it `poke()`s a notifier that sends at
 * most one `NOTIFY` at a time from its own connection, folding every poke
 * that arrives meanwhile into the next one. A producer with nothing else in
 * flight notifies inside its statement instead ({@link InlineNotify}): one
 * notifying commit at a time serialises nothing, and workers wake a round
 * trip sooner.
 */
import type { Sql } from "../db.ts";
import { log } from "../log.ts";

/** New jobs are due: wakes idle workers. */
export const CHANNEL_NEW_JOBS = "jobq_new";
/** Some job changed state: drives live dashboards (`/api/events`). */
export const CHANNEL_CHANGED = "jobq_changed";

/** Sends a NOTIFY on `channel`, coalescing bursts. */
export class Notifier {
  #sql: Sql;
  #channel: string;
  #inFlight: Promise<void> | null = null;
  #again = false;
  #closed = false;
  #minGapMs: number;

  /** `minGapMs` spaces consecutive notifications (0: back to back). */
  constructor(sql: Sql, channel: string, opts: { minGapMs?: number } = {}) {
    this.#sql = sql;
    this.#channel = channel;
    this.#minGapMs = opts.minGapMs ?? 0;
  }

  /** The channel notified. */
  get channel(): string {
    return this.#channel;
  }

  /** Asks for a notification soon; never throws, never waits. */
  poke(): void {
    if (this.#closed) return;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    this.#inFlight = this.#send().finally(() => {
      this.#inFlight = null;
      if (this.#again && !this.#closed) {
        this.#again = false;
        this.poke();
      }
    });
  }

  /** Resolves when no notification is in flight. */
  async flush(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  /** Stops sending (pending pokes are dropped after the one in flight). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  async #send(): Promise<void> {
    try {
      await this.#sql`SELECT pg_notify(${this.#channel}, '')`;
    } catch (err) {
      log("warn", "notify.failed", { channel: this.#channel, error: err });
    }
    if (this.#minGapMs > 0) await new Promise((r) => setTimeout(r, this.#minGapMs));
  }
}

/**
 * Chooses, per enqueue, where its `NOTIFY` goes: inside the enqueue's own
 * statement when no other enqueue of this producer is in flight (the lowest
 * pickup latency), else a coalesced {@link Notifier.poke} after the commit
 * (no notifying commits piling up under load).
 *
 *     await wake.run((notify) => jobs.enqueue(sql, { job, notify }));
 */
export class InlineNotify {
  #inFlight = 0;

  constructor(readonly notifier: Notifier) {}

  /**
   * Runs one enqueue; `fn` gets the channel to notify inside its statement,
   * or `null` (then a poke follows the commit). A failed enqueue notifies
   * nothing.
   */
  async run<T>(fn: (notify: string | null) => Promise<T>): Promise<T> {
    const inline = this.#inFlight++ === 0;
    try {
      const out = await fn(inline ? this.notifier.channel : null);
      if (!inline) this.notifier.poke();
      return out;
    } finally {
      this.#inFlight--;
    }
  }
}
