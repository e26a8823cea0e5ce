/** `deno task migrate`: applies pending migrations to the configured database. */
import { loadConfig } from "./config.ts";
import { openPool, resolveDatabase } from "./db.ts";
import { migrate } from "./migrate.ts";

const config = loadConfig();
const db = await resolveDatabase({
  databaseUrl: config.DATABASE_URL,
  dataDir: config.DATA_DIR,
  embeddedPort: config.EMBEDDED_PG_PORT,
});
const sql = openPool(db.url, { max: 1, name: "jobq-migrate" });
try {
  const applied = await migrate(sql);
  console.log(applied.length ? `applied ${applied.join(", ")}` : "database is up to date");
} finally {
  await sql.end();
}
