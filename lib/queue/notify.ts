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
 *
 * The receiving side is {@link Listener}: the one owner of LISTEN in the
 * project (the worker's wake-ups and the web's `/api/events` feed both use it).
 */
import postgres from "postgres";
import { connect, isDatabaseUnavailable, listenSetup, type Sql } from "../db.ts";
import { log } from "../log.ts";

/** New jobs are due: wakes idle workers. */
export const CHANNEL_NEW_JOBS = "jobq_new";
/** Some job changed state: drives live dashboards (`/api/events`). */
export const CHANNEL_CHANGED = "jobq_changed";
/** A running job's cancel was requested; the payload is its id (wakes the worker running it). */
export const CHANNEL_CANCEL = "jobq_cancel";

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

/** Options of {@link Listener}. */
export interface ListenerOptions {
  /** Channels to LISTEN on. */
  channels: string[];
  /** Called for every notification on one of `channels`. */
  onNotify(channel: string, payload: string): void;
  /**
   * Called after every successful LISTEN: at start and after each reconnect.
   * Notifications sent while the connection was down are lost, so a caller
   * that must not miss work looks for it here.
   */
  onListening?(): void;
  /** `application_name` of the connection (default: the pool's). */
  name?: string;
  /**
   * How a (re-)LISTEN is retried while the database is away; rejects to give
   * up. Default: back off from 100 ms to 3 s until it works or the listener
   * closes.
   */
  retry?(op: () => Promise<unknown>): Promise<unknown>;
}

/**
 * A dedicated connection that LISTENs on some channels and LISTENs again
 * after every drop (a server restart, a terminated backend), for as long as
 * it is open. It connects like the pool it is made from (`sql`), to the
 * pool's listen URL (`openPool`'s `listenUrl`, else the pool's own), but is
 * not one of its connections: {@link close} ends it.
 */
export class Listener {
  #opts: ListenerOptions;
  // deno-lint-ignore no-explicit-any
  #conn: postgres.Sql<any>;
  #closed = false;
  #loop: Promise<void> | null = null;

  constructor(sql: Sql, opts: ListenerOptions) {
    this.#opts = opts;
    const own = {
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      fetch_types: false,
      onnotify: (channel: string, payload: string) => {
        if (!this.#closed && opts.channels.includes(channel)) opts.onNotify(channel, payload);
      },
      onclose: () => {
        if (!this.#closed) this.#listen().catch(() => {});
      },
    };
    const setup = listenSetup(sql);
    if (setup) {
      // The pool's own options, on its listen URL (DATABASE_LISTEN_URL: a direct session).
      const connection = { ...setup.options.connection };
      if (opts.name) connection.application_name = opts.name;
      this.#conn = connect(setup.listenUrl, { ...setup.options, ...own, connection });
      return;
    }
    const base = sql.options;
    this.#conn = postgres({
      ...base,
      ...own,
      connection: {
        ...base.connection,
        ...(opts.name ? { application_name: opts.name } : {}),
      },
      // postgres.js reads onnotify and accepts its own parsed options, but declares neither.
      // deno-lint-ignore no-explicit-any
    } as any);
  }

  /**
   * Listens; rejects when the retry gives up, or at the first error with
   * `retry: false` (a caller that reports the failure instead of waiting).
   * Re-LISTENs after a drop always retry. Idempotent.
   */
  start(opts: { retry?: boolean } = {}): Promise<void> {
    return this.#listen(opts.retry ?? true);
  }

  /** Stops listening and ends the connection (waits at most `timeoutS`). */
  async close(timeoutS = 1): Promise<void> {
    this.#closed = true;
    await this.#conn.end({ timeout: timeoutS }).catch(() => {});
  }

  #listen(retrying = true): Promise<void> {
    this.#loop ??= (async () => {
      try {
        const op = async () => {
          for (const channel of this.#opts.channels) {
            await this.#conn`LISTEN ${this.#conn(channel)}`;
          }
        };
        const retry = this.#opts.retry ?? ((op) => this.#retry(op));
        await (retrying ? retry(op) : op());
        if (!this.#closed) this.#opts.onListening?.();
      } finally {
        this.#loop = null;
      }
    })();
    return this.#loop;
  }

  async #retry(op: () => Promise<unknown>): Promise<void> {
    for (let n = 0;; n++) {
      try {
        await op();
        return;
      } catch (err) {
        if (this.#closed || !isDatabaseUnavailable(err)) throw err;
        log("debug", "listen.retry", { channels: this.#opts.channels, error: err });
        await new Promise((r) => setTimeout(r, Math.min(3000, 100 * 2 ** Math.min(n, 5))));
      }
    }
  }
}
