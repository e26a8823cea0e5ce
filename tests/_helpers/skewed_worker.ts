/**
 * `deno task worker` on a wrong clock: importing fault_handlers.ts shifts the
 * main thread's `Date` by `JOBQ_TEST_CLOCK_SKEW_MS`; then worker/main.ts runs.
 * Pair it with `--handlers=tests/_helpers/fault_handlers.ts`, which shifts
 * each Web Worker's clock the same way.
 */
import "./fault_handlers.ts";

await import("../../worker/main.ts");
