/**
 * Telling a database outage from a real error, and retrying through one.
 * An outage (server restarting, connection dropped or refused) is worth
 * waiting out; anything else (a constraint, a bad value) is not.
 */
import { isDatabaseUnavailable } from "../lib/db.ts";
import { log } from "../lib/log.ts";

/** True when `err` looks like a lost or refused database connection, a deadlock or a serialisation failure (worth retrying). */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return isDatabaseUnavailable(err) || code === "40001" || code === "40P01";
}

/** A short description of an error for logs: code and message. */
export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** Delay before retry number `n` (0-based): 100 ms doubling to `maxMs`, with ±50 % jitter. */
export function retryDelayMs(n: number, maxMs = 5000): number {
  const base = Math.min(maxMs, 100 * 2 ** Math.min(n, 16));
  return Math.round(base * (0.5 + Math.random()));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Hooks of {@link withRetry}. */
export interface RetryHooks {
  /** Called with each transient error before waiting. */
  onDown?(err: unknown): void;
  /** Called once the operation succeeds after at least one transient error. */
  onUp?(): void;
  /** Stop retrying (rethrow the last error) when this returns true. */
  giveUp?(): boolean;
  /** Upper bound of one wait. */
  maxDelayMs?: number;
  /** For the debug log line of each retry. */
  label?: string;
}

/**
 * Runs `op`; on a transient error waits (backing off) and runs it again until
 * it succeeds or `giveUp()` says stop. Non-transient errors are rethrown at
 * once. Only for idempotent or fenced operations.
 */
export async function withRetry<T>(op: () => Promise<T>, hooks: RetryHooks = {}): Promise<T> {
  for (let n = 0;; n++) {
    try {
      const value = await op();
      if (n > 0) hooks.onUp?.();
      return value;
    } catch (err) {
      if (!isTransient(err) || hooks.giveUp?.()) throw err;
      hooks.onDown?.(err);
      const ms = retryDelayMs(n, hooks.maxDelayMs);
      log("debug", "db.retry", { op: hooks.label, retry_in_ms: ms, error: describe(err) });
      await delay(ms);
    }
  }
}
