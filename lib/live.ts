/**
 * Live change feed for `/api/events`: one LISTEN connection per pool (so per
 * process; a {@link Listener} of `lib/queue/notify.ts`, which re-LISTENs after
 * a drop) on `jobq_changed` and `jobq_new`, shared by every subscriber, with
 * notifications coalesced into at most one message per `minGapMs` (a burst of
 * thousands of changes becomes a handful of messages).
 */
import type { Sql } from "./db.ts";
import { log } from "./log.ts";
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

  constructor(sql: Sql, opts: LiveOptions = {}) {
    this.#sql = sql;
    this.#minGapMs = opts.minGapMs ?? 500;
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
      });
      try {
        // A subscriber that cannot listen gets the error now (its request fails), not a wait.
        await listener.start({ retry: false });
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

  #stop() {
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
