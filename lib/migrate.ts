/**
 * Migrations: `migrations/NNNN_name.sql`, applied in order, once each, each in
 * its own transaction, recorded in `schema_migrations`, under an advisory lock
 * so that any number of processes starting together apply each file once.
 */
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { Sql } from "./db.ts";
import { log } from "./log.ts";
import { MIGRATION_LOCK_KEY } from "./queue/lock_keys.ts";

/** The folder holding the numbered `.sql` files. */
export const MIGRATIONS_DIR = join(dirname(fromFileUrl(import.meta.url)), "..", "migrations");

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads the migration files in version order; a badly named file is an error. */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const out: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(entry.name);
    if (!m) {
      throw new Error(`migrations: ${entry.name} should be named NNNN_snake_name.sql`);
    }
    out.push({
      version: Number(m[1]),
      name: entry.name,
      sql: await Deno.readTextFile(join(dir, entry.name)),
    });
  }
  out.sort((a, b) => a.version - b.version);
  for (let i = 1; i < out.length; i++) {
    if (out[i].version === out[i - 1].version) {
      throw new Error(`migrations: two files share version ${out[i].version}`);
    }
  }
  return out;
}

/**
 * Applies pending migrations; returns the names applied by this call (empty
 * when the database is up to date). Holds a session advisory lock on one
 * reserved connection for the whole run.
 */
export async function migrate(
  sql: Sql,
  opts: { dir?: string; quiet?: boolean } = {},
): Promise<string[]> {
  const migrations = await readMigrations(opts.dir);
  const applied: string[] = [];
  const conn = await sql.reserve();
  try {
    await conn`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await conn`
        CREATE TABLE IF NOT EXISTS schema_migrations (
          version integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`;
      const done = new Set(
        (await conn<{ version: number }[]>`SELECT version FROM schema_migrations`).map((r) =>
          r.version
        ),
      );
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await conn`BEGIN`;
        try {
          await conn.unsafe(m.sql);
          await conn`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
          await conn`COMMIT`;
        } catch (err) {
          await conn`ROLLBACK`;
          throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
        }
        applied.push(m.name);
        if (!opts.quiet) log("info", "migration.applied", { name: m.name });
      }
    } finally {
      await conn`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    conn.release();
  }
  return applied;
}

/** Names of migration files not yet applied (for `/readyz`). */
export async function pendingMigrations(sql: Sql): Promise<string[]> {
  const all = await readMigrations();
  const [{ exists }] = await sql<{ exists: boolean }[]>`
    SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`;
  if (!exists) return all.map((m) => m.name);
  const done = new Set(
    (await sql<{ version: number }[]>`SELECT version FROM schema_migrations`).map((r) => r.version),
  );
  return all.filter((m) => !done.has(m.version)).map((m) => m.name);
}
