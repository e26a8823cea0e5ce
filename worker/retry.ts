/**
 * Telling a database outage from a real error, and retrying through one.
 * An outage (server restarting, connection dropped or refused) is worth
 * waiting out; anything else (a constraint, a bad value) is not.
 */
import { log } from "../lib/log.ts";

const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown (pg_terminate_backend, fast shutdown)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, shutting down)
  "53300", // too_many_connections
  "40001", // serialization_failure
  "40P01", // deadlock_detected
]);

/** True when `err` looks like a lost or refused database connection (worth retrying). */
export function isTransient(err: unknown): boolean {
  if (err instanceof Deno.errors.ConnectionRefused || err instanceof Deno.errors.ConnectionReset) {
    return true;
  }
  if (err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.TimedOut) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return TRANSIENT_CODES.has(code) || code.startsWith("08");
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
