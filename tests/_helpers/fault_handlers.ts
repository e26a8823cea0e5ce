/**
 * Handlers for the fault suite (loaded by worker processes with
 * `--handlers=tests/_helpers/fault_handlers.ts`). Payloads steer them.
 *
 * When `JOBQ_TEST_CLOCK_SKEW_MS` is set, importing this module shifts the
 * Web Worker's `Date` by that many milliseconds (see skewed_worker.ts for the
 * main thread), so a whole worker process runs on a wrong clock.
 */
import type { HandlerMap } from "../../worker/types.ts";

const skew = Number(Deno.env.get("JOBQ_TEST_CLOCK_SKEW_MS") ?? "0");
if (skew) installClockSkew(skew);

/** Replaces the global `Date` with one running `skewMs` ahead (negative: behind). */
export function installClockSkew(skewMs: number): void {
  const Real = Date;
  const realNow = Real.now.bind(Real);
  class SkewedDate extends Real {
    constructor(...args: unknown[]) {
      super(...((args.length ? args : [realNow() + skewMs]) as [number]));
    }
    static override now(): number {
      return realNow() + skewMs;
    }
  }
  (globalThis as { Date: DateConstructor }).Date = SkewedDate as unknown as DateConstructor;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ms <= 0) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}

const startsPath = Deno.env.get("JOBQ_TEST_STARTS") ?? "";
const encoder = new TextEncoder();

/** Fault-suite handlers. */
export const handlers: HandlerMap = {
  /**
   * Appends its `n` to `$JOBQ_TEST_STARTS` (a synchronous write: on disk
   * before the handler goes on, even if the process is killed right after);
   * with `block`, never settles.
   */
  start_log: {
    timeoutSeconds: 120,
    run(p) {
      const { n, block = false } = p as { n: number; block?: boolean };
      if (startsPath) Deno.writeFileSync(startsPath, encoder.encode(`${n}\n`), { append: true });
      return block ? new Promise(() => {}) : Promise.resolve(null);
    },
  },
  /** Waits `ms` (default 10), honouring the abort signal; returns `{ n }`. */
  work: {
    timeoutSeconds: 120,
    async run(p, ctx) {
      const { ms = 10, n = null } = p as { ms?: number; n?: number | null };
      await sleep(ms, ctx.signal);
      return { n };
    },
  },
  /** Crashes its Web Worker: an uncaught exception from a timer; never settles. */
  poison_throw: {
    timeoutSeconds: 5,
    run() {
      setTimeout(() => {
        throw new Error("poison: uncaught exception in the Web Worker");
      }, 0);
      return new Promise(() => {});
    },
  },
  /** Ends its Web Worker with `self.close()`; never settles. */
  poison_close: {
    timeoutSeconds: 2,
    run() {
      (self as unknown as { close(): void }).close();
      return new Promise(() => {});
    },
  },
};
