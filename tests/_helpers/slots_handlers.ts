/** Handlers for tests of a runner of several slots: a job that returns its `n` at once. */
import type { HandlerMap } from "../../worker/types.ts";

export const handlers: HandlerMap = {
  quick: { timeoutSeconds: 30, run: (p) => Promise.resolve({ n: (p as { n?: number }).n }) },
};
