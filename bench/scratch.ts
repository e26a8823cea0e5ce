/**
 * The benchmark's own database: `jobq_bench_<pid>` on the given server,
 * created and migrated at start, dropped at the end. No other database is
 * ever written to; the server's maintenance database is only used to issue
 * CREATE/DROP DATABASE for that one name.
 */
import { openPool, type Sql, withDatabase } from "../lib/db.ts";
import { migrate } from "../lib/migrate.ts";

/** A migrated scratch database and an admin pool (one connection) on it. */
export interface Scratch {
  name: string;
  url: string;
  /** One connection for settle/WAL/counts; never used inside a timed section's work. */
  admin: Sql;
  drop(): Promise<void>;
}

/** The scratch database's name for this process. */
export function scratchName(pid = Deno.pid): string {
  return `jobq_bench_${pid}`;
}

/** Creates (after dropping a leftover of the same name) and migrates the scratch database. */
export async function createScratch(serverUrl: string): Promise<Scratch> {
  const name = scratchName();
  const maintenance = openPool(withDatabase(serverUrl, "postgres"), {
    max: 1,
    name: "jobq-bench-admin",
  });
  try {
    await maintenance`DROP DATABASE IF EXISTS ${maintenance(name)} WITH (FORCE)`;
    await maintenance`CREATE DATABASE ${maintenance(name)}`;
  } finally {
    await maintenance.end();
  }
  const url = withDatabase(serverUrl, name);
  const admin = openPool(url, { max: 1, name: "jobq-bench-admin" });
  await migrate(admin, { quiet: true });
  let dropped = false;
  return {
    name,
    url,
    admin,
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin.end({ timeout: 5 });
      const m = openPool(withDatabase(serverUrl, "postgres"), { max: 1 });
      try {
        await m`DROP DATABASE IF EXISTS ${m(name)} WITH (FORCE)`;
      } finally {
        await m.end();
      }
    },
  };
}
