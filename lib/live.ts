/**
 * Live change feed for `/api/events`: one LISTEN connection per pool (so per
 * process; a {@link Listener} of `lib/queue/notify.ts`, which re-LISTENs after
 * a drop) on `jobq_changed` and `jobq_new`, shared by every subscriber, with
 * notifications coalesced into at most one message per `minGapMs` (a burst of
 * thousands of changes becomes a handful of messages).
 *
 * LISTEN needs a direct session (`DATABASE_LISTEN_URL`). When it cannot be
 * had but the database answers through the pool (a wrong, refused or lost
 * listen URL), the feed polls the newest timeline entry every `pollMs`
 * instead, and goes back to LISTEN as soon as it works again: live pages
 * keep updating, a little later. Only a database that does not answer at all
 * makes a subscriber fail.
 */
import { ping, type Sql } from "./db.ts";
import { log } from "./log.ts";
import { lastId } from "./queue/events.ts";
import { CHANNEL_CHANGED, CHANNEL_NEW_JOBS, Listener } from "./queue/notify.ts";

/** One coalesced message: which channels fired since the last one, and how often. */
export interface LiveChange {
  seq: number;
  at: string;
  channels: string[];
  notifications: number;
}

type Subscriber = (change: LiveChange) => void;

/** Options of {@link liveFeed}. */
export interface LiveOptions {
  /** Least time between two messages (default 500 ms). */
  minGapMs?: number;
  /** How often the database is polled while LISTEN is unavailable (default 2000 ms). */
  pollMs?: number;
}

/** A shared subscription to the queue's change channels. */
export class LiveFeed {
  #sql: Sql;
  #listeners = new Set<Subscriber>();
  #closers = new Map<Subscriber, () => void>();
  #listener: Listener | null = null;
  #starting: Promise<void> | null = null;
  #minGapMs: number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #lastSent = 0;
  #seq = 0;
  #pending = new Map<string, number>();
  #pollMs: number;
  #poll: ReturnType<typeof setTimeout> | null = null;
  #polling = false;
  #lastSeen: number | null = null;
  #pollRound = 0;

  constructor(sql: Sql, opts: LiveOptions = {}) {
    this.#sql = sql;
    this.#minGapMs = opts.minGapMs ?? 500;
    this.#pollMs = opts.pollMs ?? 2000;
  }

  /** True while the feed polls because it cannot LISTEN. */
  get polling(): boolean {
    return this.#polling;
  }

  /** Number of current subscribers. */
  get size(): number {
    return this.#listeners.size;
  }

  /**
   * Adds a listener; the first one starts LISTEN (resolves once listening).
   * Returns the function that removes it; the last removal stops LISTEN.
   * `onClose` is called by {@link closeAll} (server shutdown) to end the stream.
   */
  async subscribe(fn: Subscriber, onClose?: () => void): Promise<() => void> {
    this.#listeners.add(fn);
    if (onClose) this.#closers.set(fn, onClose);
    try {
      await this.#start();
    } catch (err) {
      this.#listeners.delete(fn);
      this.#closers.delete(fn);
      throw err;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#listeners.delete(fn);
      this.#closers.delete(fn);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /**
   * Ends every subscriber's stream (their `onClose`), so that a graceful
   * server shutdown does not wait for live clients to leave; the last one
   * leaving ends the LISTEN connection.
   */
  closeAll(): void {
    for (const close of [...this.#closers.values()]) {
      try {
        close();
      } catch (err) {
        log("warn", "live.close_failed", { error: err });
      }
    }
  }

  #start(): Promise<void> {
    if (this.#listener) return Promise.resolve();
    this.#starting ??= (async () => {
      const listener = new Listener(this.#sql, {
        channels: [CHANNEL_CHANGED, CHANNEL_NEW_JOBS],
        onNotify: (channel) => this.#notified(channel),
        onListening: () => this.#listening(listener),
      });
      try {
        try {
          await listener.start({ retry: false });
        } catch (err) {
          // The database itself does not answer: the subscriber gets the error now, not a wait.
          await ping(this.#sql).catch(() => Promise.reject(err));
          log("warn", "live.listen_unavailable", { error: err, fallback: "polling" });
          this.#startPolling();
          listener.start().catch((e) => {
            if (this.#listener === listener) log("warn", "live.listen_failed", { error: e });
          });
        }
        this.#listener = listener;
        if (this.#listeners.size === 0) this.#stop(); // the last subscriber left meanwhile
      } catch (err) {
        await listener.close();
        throw err;
      } finally {
        this.#starting = null;
      }
    })();
    return this.#starting;
  }

  /** LISTEN works (again): polling ends, and one message covers what it may have missed. */
  #listening(listener: Listener) {
    if (!this.#polling || this.#listener !== listener) return;
    log("info", "live.listen_resumed", {});
    this.#stopPolling();
    this.#notified(CHANNEL_CHANGED);
  }

  #startPolling() {
    this.#polling = true;
    this.#lastSeen = null;
    const round = ++this.#pollRound;
    const tick = async () => {
      try {
        const id = await lastId(this.#sql);
        if (this.#lastSeen !== null && id !== this.#lastSeen) this.#notified(CHANNEL_CHANGED);
        this.#lastSeen = id;
      } catch (err) {
        log("debug", "live.poll_failed", { error: err });
      }
      if (this.#polling && round === this.#pollRound) this.#poll = setTimeout(tick, this.#pollMs);
    };
    this.#poll = setTimeout(tick, 0);
  }

  #stopPolling() {
    this.#polling = false;
    if (this.#poll) clearTimeout(this.#poll);
    this.#poll = null;
  }

  #stop() {
    this.#stopPolling();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#pending.clear();
    const listener = this.#listener;
    this.#listener = null;
    listener?.close().catch((err) => log("warn", "live.unlisten_failed", { error: err }));
  }

  #notified(channel: string) {
    if (this.#listeners.size === 0) return;
    this.#pending.set(channel, (this.#pending.get(channel) ?? 0) + 1);
    if (this.#timer) return;
    const wait = Math.max(0, this.#lastSent + this.#minGapMs - Date.now());
    this.#timer = setTimeout(() => this.#flush(), wait);
  }

  #flush() {
    this.#timer = null;
    if (this.#pending.size === 0) return;
    const change: LiveChange = {
      seq: ++this.#seq,
      at: new Date().toISOString(),
      channels: [...this.#pending.keys()].sort(),
      notifications: [...this.#pending.values()].reduce((a, b) => a + b, 0),
    };
    this.#pending.clear();
    this.#lastSent = Date.now();
    for (const fn of [...this.#listeners]) {
      try {
        fn(change);
      } catch (err) {
        log("warn", "live.listener_failed", { error: err });
      }
    }
  }
}

const feeds = new WeakMap<Sql, LiveFeed>();

/** Ends every live stream served from `sql`'s feed (call before `server.shutdown()`). */
export function closeLiveStreams(sql: Sql): void {
  feeds.get(sql)?.closeAll();
}

/** The feed of a pool (created on first use; one LISTEN connection per pool). */
export function liveFeed(sql: Sql, opts?: LiveOptions): LiveFeed {
  let feed = feeds.get(sql);
  if (!feed) {
    feed = new LiveFeed(sql, opts);
    feeds.set(sql, feed);
  }
  return feed;
}
