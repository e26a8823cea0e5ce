/**
 * `deno task worker`: one worker process. Reads the configuration, finds the
 * database (embedded when `DATABASE_URL` is unset), applies pending
 * migrations, runs the supervisor until SIGINT/SIGTERM, and exits 0 after a
 * graceful stop (a second signal exits at once).
 *
 * `--handlers=<path or URL>` runs another handlers module (one exporting
 * `handlers`, see worker/types.ts) instead of the built-in one.
 */
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { loadConfig } from "../lib/config.ts";
import { openPool, resolveDatabase } from "../lib/db.ts";
import { log, setLogLevel } from "../lib/log.ts";
import { migrate } from "../lib/migrate.ts";
import { startSupervisor } from "./supervisor.ts";

const config = loadConfig();
setLogLevel(config.LOG_LEVEL);
const db = await resolveDatabase({
  databaseUrl: config.DATABASE_URL,
  dataDir: config.DATA_DIR,
  embeddedPort: config.EMBEDDED_PG_PORT,
});
const handlersArg = Deno.args.find((a) => a.startsWith("--handlers="))?.slice("--handlers=".length);
const handlersModule = handlersArg
  ? (/^[a-z]+:/.test(handlersArg) ? handlersArg : pathToFileURL(resolve(handlersArg)).href)
  : undefined;
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
  });
  await sup.done;
  Deno.exit(0);
} catch (err) {
  log("error", "worker.failed", { error: err });
  Deno.exit(1);
}
