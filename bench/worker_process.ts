/**
 * The benchmark's worker process: what `deno task worker` (worker/main.ts)
 * runs — the same supervisor, Web Worker runners, LISTEN wake-ups, leases and
 * rescuer — with the no-op handlers of bench/noop_handlers.ts instead of the
 * real ones. The database must be migrated (bench/main.ts does that).
 *
 *   deno run -A bench/worker_process.ts --concurrency 16 [--claim-batch N]
 *     [--complete-batch N] [--complete-flush-ms N] [--jobs-per-runner N]
 *     [--mark-lead N] [--handlers noop|crash]
 *
 * Without the tuning flags every knob keeps the product's default. Stops
 * gracefully on SIGTERM/SIGINT and exits 0.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../lib/config.ts";
import { log } from "../lib/log.ts";
import { startSupervisor } from "../worker/supervisor.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    concurrency: { type: "string" },
    "claim-batch": { type: "string" },
    "complete-batch": { type: "string" },
    "complete-flush-ms": { type: "string" },
    "jobs-per-runner": { type: "string" },
    "mark-lead": { type: "string" },
    handlers: { type: "string", default: "noop" },
  },
});
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

const config = loadConfig();
if (!config.DATABASE_URL) throw new Error("bench worker: DATABASE_URL must be set");
try {
  const sup = await startSupervisor({
    databaseUrl: config.DATABASE_URL,
    config,
    handleSignals: true,
    handlersModule: new URL(
      args.handlers === "crash" ? "./crash_handlers.ts" : "./noop_handlers.ts",
      import.meta.url,
    ),
    concurrency: num(args.concurrency),
    claimBatch: num(args["claim-batch"]),
    completeBatch: num(args["complete-batch"]),
    completeFlushMs: num(args["complete-flush-ms"]),
    jobsPerRunner: num(args["jobs-per-runner"]),
    markLead: num(args["mark-lead"]),
  });
  await sup.done;
  Deno.exit(0);
} catch (err) {
  log("error", "bench.worker_failed", { error: err });
  Deno.exit(1);
}
