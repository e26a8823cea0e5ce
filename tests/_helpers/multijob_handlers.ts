/**
 * Handlers for tests of runners that run several jobs at once: a slow job
 * that honours its signal, and jobs that ignore it (one with a long timeout,
 * to be cancelled; one with a short one, to time out) or block the event loop.
 */
import type { HandlerMap } from "../../worker/types.ts";
import { sleep } from "./worker_handlers.ts";

export const handlers: HandlerMap = {
  /**
   * Waits `ms` (default 1500), honouring the abort signal, and returns when
   * its handler started and ended (wall ms): runs that overlap are seen in
   * the results, without timing anything.
   */
  slow: {
    timeoutSeconds: 60,
    async run(p, ctx) {
      const began = Date.now();
      await sleep((p as { ms?: number }).ms ?? 1500, ctx.signal);
      return { began, ended: Date.now() };
    },
  },
  /** Never settles and ignores the abort signal; a 60 s timeout (cancel it). */
  deaf: { timeoutSeconds: 60, run: () => new Promise(() => {}) },
  /** Never settles and ignores the abort signal; times out after 1 s. */
  hang: { timeoutSeconds: 1, run: () => new Promise(() => {}) },
  /** Blocks its Web Worker's thread after a short wait (the others have started by then). */
  block: {
    timeoutSeconds: 1,
    async run(_p, ctx) {
      await sleep(100, ctx.signal);
      const until = Date.now() + 60_000;
      while (Date.now() < until) { /* spin */ }
      return "unreachable";
    },
  },
};
