/**
 * `deno task worker`: one worker process. Reads the configuration, finds the
 * database (embedded when `DATABASE_URL` is unset), applies pending
 * migrations, runs the supervisor until SIGINT/SIGTERM, and exits 0 after a
 * graceful stop (a second signal exits at once).
 */
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
const sql = openPool(db.url, { max: 1, name: "jobq-worker-migrate" });
try {
  await migrate(sql);
} finally {
  await sql.end({ timeout: 5 });
}
try {
  const sup = await startSupervisor({ databaseUrl: db.url, config, handleSignals: true });
  await sup.done;
  Deno.exit(0);
} catch (err) {
  log("error", "worker.failed", { error: err });
  Deno.exit(1);
}
