/**
 * A handlers module for the cancel and progress tests: a handler that
 * honours its signal, one that ignores it, and ones that report progress.
 */
import type { HandlerMap } from "../../worker/types.ts";
import { sleep } from "./worker_handlers.ts";

/** Test handlers; long timeouts, so only a cancel ends them early. */
export const handlers: HandlerMap = {
  /** Returns at once. */
  noop: { timeoutSeconds: 60, run: () => Promise.resolve({ ok: true }) },
  /** Waits until aborted. */
  patient: { timeoutSeconds: 60, run: (_p, ctx) => sleep(1e9, ctx.signal) },
  /** Never settles and ignores its signal. */
  stubborn: { timeoutSeconds: 60, run: () => new Promise(() => {}) },
  /** Reports `percent` (default 42) with "waiting", then waits until aborted. */
  progress_wait: {
    timeoutSeconds: 60,
    async run(p, ctx) {
      ctx.progress((p as { percent?: number }).percent ?? 42, "waiting");
      await sleep(1e9, ctx.signal);
    },
  },
  /** Reports 1, 2, … `n` (default 200) % in a tight loop, then 100 "done", and returns. */
  progress_burst: {
    timeoutSeconds: 60,
    run(p, ctx) {
      const n = (p as { n?: number }).n ?? 200;
      for (let i = 1; i <= n; i++) ctx.progress(i / 2, `step ${i}`);
      ctx.progress(100, "done");
      return Promise.resolve({ steps: n });
    },
  },
};
