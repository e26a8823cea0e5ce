/** `deno task migrate`: applies pending migrations to the configured database. */
import { loadConfig } from "./config.ts";
import { configuredDatabase, openPool } from "./db.ts";
import { migrate } from "./migrate.ts";

const config = loadConfig();
const db = await configuredDatabase(config);
const sql = openPool(db.url, { max: 1, name: "jobq-migrate" });
try {
  const applied = await migrate(sql);
  console.log(applied.length ? `applied ${applied.join(", ")}` : "database is up to date");
} finally {
  await sql.end();
}
