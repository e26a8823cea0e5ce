/**
 * The crash benchmark's handlers module: a `notification` handler that
 * appends its job's index to `$JOBQ_CRASH_STARTS` (one synchronous write,
 * so a start is on disk before the handler goes on, even if the process is
 * killed right after), then waits `JOBQ_BENCH_HANDLER_MS` (default 0).
 */
import type { HandlerMap } from "../worker/types.ts";
import { payloadIndex } from "./payload.ts";

const path = Deno.env.get("JOBQ_CRASH_STARTS") ?? "";
const waitMs = Number(Deno.env.get("JOBQ_BENCH_HANDLER_MS") ?? "0");
const encoder = new TextEncoder();

/** `notification` jobs record their start, then wait. */
export const handlers: HandlerMap = {
  notification: {
    timeoutSeconds: 30,
    run(payload: unknown): Promise<unknown> {
      const i = payloadIndex(payload);
      if (path && i !== null) Deno.writeFileSync(path, encoder.encode(`${i}\n`), { append: true });
      if (waitMs > 0) return new Promise((r) => setTimeout(() => r(null), waitMs));
      return Promise.resolve(null);
    },
  },
};
