/**
 * A fixed-window limiter of failed attempts (dashboard login): at most `max`
 * failures per key (a client address, or a browser that signed in before)
 * per window, and at most `globalMax` failures over the keys that count
 * toward it (a backstop when addresses are unknown or many). In memory, per
 * process; bounded in size.
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
   * now: its own failures, or (unless `global` is false) everyone's, reached
   * the limit in this window.
   */
  blocked(key: string, { global = true }: { global?: boolean } = {}): number {
    const t = this.#opts.now();
    const w = this.#window(this.#keys.get(key), t);
    this.#global = this.#window(this.#global, t);
    const until = Math.max(
      w.failures >= this.#opts.max ? w.start + this.#opts.windowMs : 0,
      global && this.#global.failures >= this.#opts.globalMax
        ? this.#global.start + this.#opts.windowMs
        : 0,
    );
    return until > t ? Math.max(1, Math.ceil((until - t) / 1000)) : 0;
  }

  /** Records one failure of `key`; it counts toward the overall cap unless `global` is false. */
  fail(key: string, { global = true }: { global?: boolean } = {}): void {
    const t = this.#opts.now();
    const w = this.#window(this.#keys.get(key), t);
    w.failures++;
    this.#keys.delete(key);
    this.#keys.set(key, w);
    this.#global = this.#window(this.#global, t);
    if (global) this.#global.failures++;
    if (this.#keys.size > this.#opts.maxKeys) {
      this.#keys.delete(this.#keys.keys().next().value!);
    }
  }

  /** Forgets `key`'s failures (after a success). */
  reset(key: string): void {
    this.#keys.delete(key);
  }

  /** Forgets every failure (tests that must not leave a lockout behind). */
  clear(): void {
    this.#keys.clear();
    this.#global = { start: 0, failures: 0 };
  }
}

/**
 * The limiter key of a client address: an IPv4 address as it is, an IPv6
 * address by its /64 (one host usually holds a whole /64, so per-address
 * limits on single IPv6 addresses would not limit anyone), an IPv4-mapped
 * IPv6 address as its IPv4 address; `unknown` without one.
 */
export function addressKey(hostname: string | undefined): string {
  if (!hostname) return "unknown";
  const addr = hostname.replace(/^\[|\]$/g, "").replace(/%.*$/, "").toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (mapped) return mapped[1];
  if (!addr.includes(":")) return addr;
  const [head, tail] = addr.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.slice(0, 4).map((g) => parseInt(g || "0", 16).toString(16)).join(":") + "::/64";
}
