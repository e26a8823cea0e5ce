/**
 * A fixed-window limiter of failed attempts (dashboard login): at most `max`
 * failures per key (client address) per window, and at most `globalMax`
 * failures over all keys (a backstop when addresses are unknown or many).
 * In memory, per process; bounded in size.
 */

/** Options of {@link RateLimiter}. */
export interface RateLimitOptions {
  /** Failures allowed per key per window. */
  max: number;
  /** Failures allowed over all keys per window. */
  globalMax: number;
  windowMs: number;
  /** Clock (tests pass a fake one). */
  now?: () => number;
  /** Most keys remembered; the oldest windows go first beyond it. Default 10,000. */
  maxKeys?: number;
}

interface Window {
  start: number;
  failures: number;
}

/** Counts failures per key; {@link RateLimiter.blocked} says when to refuse. */
export class RateLimiter {
  #keys = new Map<string, Window>();
  #global: Window = { start: 0, failures: 0 };
  #opts: Required<RateLimitOptions>;

  constructor(opts: RateLimitOptions) {
    this.#opts = { now: Date.now, maxKeys: 10_000, ...opts };
  }

  #window(w: Window | undefined, t: number): Window {
    return w && t - w.start < this.#opts.windowMs ? w : { start: t, failures: 0 };
  }

  /**
   * Seconds to wait before `key` may try again (≥ 1), or 0 when it may try
   * now: its own failures, or everyone's, reached the limit in this window.
   */
  blocked(key: string): number {
    const t = this.#opts.now();
    const w = this.#window(this.#keys.get(key), t);
    this.#global = this.#window(this.#global, t);
    const until = Math.max(
      w.failures >= this.#opts.max ? w.start + this.#opts.windowMs : 0,
      this.#global.failures >= this.#opts.globalMax ? this.#global.start + this.#opts.windowMs : 0,
    );
    return until > t ? Math.max(1, Math.ceil((until - t) / 1000)) : 0;
  }

  /** Records one failure of `key`. */
  fail(key: string): void {
    const t = this.#opts.now();
    const w = this.#window(this.#keys.get(key), t);
    w.failures++;
    this.#keys.delete(key);
    this.#keys.set(key, w);
    this.#global = this.#window(this.#global, t);
    this.#global.failures++;
    if (this.#keys.size > this.#opts.maxKeys) {
      this.#keys.delete(this.#keys.keys().next().value!);
    }
  }

  /** Forgets `key`'s failures (after a success). */
  reset(key: string): void {
    this.#keys.delete(key);
  }
}
