/**
 * A handlers module for worker tests (loaded by the runner through
 * `handlersModule` / `--handlers`): well-behaved, slow, hanging, blocking,
 * throwing, crashing and non-serialisable handlers. Payloads steer them.
 */
import { PermanentError } from "../../lib/jobs/common.ts";
import type { HandlerMap } from "../../worker/types.ts";

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}

/** Test handlers; `timeoutSeconds` is short so timeouts happen quickly. */
export const handlers: HandlerMap = {
  /** Returns `{ok: true, n}` at once. */
  noop: {
    timeoutSeconds: 30,
    run: (p) => Promise.resolve({ ok: true, n: (p as { n?: number }).n }),
  },
  /** Waits `ms` (default 200), honouring the abort signal, then writes an .eml like email does. */
  slow_email: {
    timeoutSeconds: 60,
    async run(p, ctx) {
      const { ms = 200 } = p as { ms?: number };
      await sleep(ms, ctx.signal);
      return await ctx.sendMail({ to: "slow@example.com", subject: "slow", text: ctx.job.id });
    },
  },
  /** Waits `ms` (default 20) under a 1 s timeout: an outage longer than that must not look like a hang. */
  brief: {
    timeoutSeconds: 1,
    async run(p, ctx) {
      await sleep((p as { ms?: number }).ms ?? 20, ctx.signal);
      return { ok: true };
    },
  },
  /** Waits forever but stops when aborted (cooperative timeout). */
  patient: { timeoutSeconds: 1, run: (_p, ctx) => sleep(1e9, ctx.signal) },
  /** Never settles and ignores the abort signal. */
  hang: { timeoutSeconds: 1, run: () => new Promise(() => {}) },
  /** Blocks its thread in a busy loop (the runner cannot even see its own timer). */
  block: {
    timeoutSeconds: 1,
    run() {
      const until = Date.now() + 60_000;
      while (Date.now() < until) { /* spin */ }
      return Promise.resolve("unreachable");
    },
  },
  /** Busy-loops for `ms` (default 3000) and then completes: only the main thread can renew its lease. */
  busy: {
    timeoutSeconds: 30,
    run(p) {
      const until = Date.now() + ((p as { ms?: number }).ms ?? 3000);
      while (Date.now() < until) { /* spin */ }
      return Promise.resolve({ spun: true });
    },
  },
  /** Throws an ordinary error. */
  throw: {
    timeoutSeconds: 30,
    run: () => Promise.reject(new Error("handler exploded on purpose")),
  },
  /** Throws a PermanentError (no retries). */
  permanent: {
    timeoutSeconds: 30,
    run: () => Promise.reject(new PermanentError("this can never work")),
  },
  /** Returns a value JSON cannot hold: `kind` picks a function, a bigint or a cycle. */
  unserialisable: {
    timeoutSeconds: 30,
    run(p) {
      const kind = (p as { kind?: string }).kind ?? "function";
      if (kind === "bigint") return Promise.resolve({ count: 10n });
      if (kind === "cycle") {
        const a: Record<string, unknown> = { name: "a" };
        a.self = a;
        return Promise.resolve(a);
      }
      return Promise.resolve({ callback: () => 1 });
    },
  },
  /** Crashes its Web Worker with an uncaught exception, and never settles. */
  crash: {
    timeoutSeconds: 30,
    run() {
      setTimeout(() => {
        throw new Error("uncaught crash in the Web Worker");
      }, 0);
      return new Promise(() => {});
    },
  },
};
