/**
 * The benchmark's own database: `jobq_bench_<pid>` on the given server,
 * created and migrated at start, dropped at the end (and, for the scale
 * phase, `jobq_bench_<pid>_<label>` per table size, dropped when the phase
 * ends). No other database is ever written to; the server's maintenance
 * database is only used to issue CREATE/DROP DATABASE for those names.
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

/** The scratch database's name for this process (and `label`, when given). */
export function scratchName(pid = Deno.pid, label?: string): string {
  return label ? `jobq_bench_${pid}_${label}` : `jobq_bench_${pid}`;
}

/**
 * Creates (after dropping a leftover of the same name) and migrates the
 * scratch database; `label` makes an additional one of this process.
 */
export async function createScratch(serverUrl: string, label?: string): Promise<Scratch> {
  const name = scratchName(Deno.pid, label);
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

/**
 * A database kept between runs under a fixed `name` (the scale phase's
 * `--scale-reuse`): created and migrated when missing, migrated when there.
 * `existed` says whether it was there before; it is never dropped here.
 */
export async function keptDatabase(
  serverUrl: string,
  name: string,
): Promise<{ url: string; existed: boolean }> {
  const maintenance = openPool(withDatabase(serverUrl, "postgres"), {
    max: 1,
    name: "jobq-bench-admin",
  });
  let existed: boolean;
  try {
    [{ existed }] = await maintenance<{ existed: boolean }[]>`
      SELECT EXISTS (SELECT FROM pg_database WHERE datname = ${name}) AS existed`;
    if (!existed) await maintenance`CREATE DATABASE ${maintenance(name)}`;
  } finally {
    await maintenance.end();
  }
  const url = withDatabase(serverUrl, name);
  const admin = openPool(url, { max: 1, name: "jobq-bench-admin" });
  try {
    await migrate(admin, { quiet: true });
  } finally {
    await admin.end({ timeout: 5 });
  }
  return { url, existed };
}
