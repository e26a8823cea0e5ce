/**
 * `deno task worker`: one worker process. Reads the configuration, finds the
 * database (embedded when `DATABASE_URL` is unset), applies pending
 * migrations, runs the supervisor until SIGINT/SIGTERM, and exits 0 after a
 * graceful stop (a second signal more than a second later exits at once).
 *
 * Flags: `--handlers=<path or URL>` runs another handlers module (one
 * exporting `handlers`, see worker/types.ts) instead of the built-in one;
 * `--concurrency N`, `--claim-batch N`, `--complete-batch N`,
 * `--complete-flush-ms N`, `--mark-lead N` tune the pool (defaults: see
 * SupervisorOptions).
 */
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { loadConfig } from "../lib/config.ts";
import { configuredDatabase, openPool } from "../lib/db.ts";
import { log, setLogLevel } from "../lib/log.ts";
import { migrate } from "../lib/migrate.ts";
import { startSupervisor } from "./supervisor.ts";
import { SchedulesFileError } from "../lib/schedules/file.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    handlers: { type: "string" },
    concurrency: { type: "string" },
    "claim-batch": { type: "string" },
    "complete-batch": { type: "string" },
    "complete-flush-ms": { type: "string" },
    "mark-lead": { type: "string" },
  },
});
function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(
      `worker: --${name} expects a whole number of at least 1 (got ${JSON.stringify(v)})`,
    );
    Deno.exit(64);
  }
  return n;
}
const handlersModule = args.handlers
  ? (/^[a-z]+:/.test(args.handlers) ? args.handlers : pathToFileURL(resolve(args.handlers)).href)
  : undefined;
const tuning = {
  concurrency: positive("concurrency", args.concurrency),
  claimBatch: positive("claim-batch", args["claim-batch"]),
  completeBatch: positive("complete-batch", args["complete-batch"]),
  completeFlushMs: positive("complete-flush-ms", args["complete-flush-ms"]),
  markLead: positive("mark-lead", args["mark-lead"]),
};
const config = loadConfig();
setLogLevel(config.LOG_LEVEL);
const db = await configuredDatabase(config);
const sql = openPool(db.url, { max: 1, name: "jobq-worker-migrate" });
try {
  await migrate(sql);
} finally {
  await sql.end({ timeout: 5 });
}
try {
  const sup = await startSupervisor({
    databaseUrl: db.url,
    config,
    handleSignals: true,
    handlersModule,
    ...tuning,
  });
  await sup.done;
  Deno.exit(0);
} catch (err) {
  if (err instanceof SchedulesFileError) console.error(`worker: ${err.message}`);
  log("error", "worker.failed", { error: err });
  Deno.exit(1);
}
