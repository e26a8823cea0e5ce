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
 * when the database is up to date). Each file runs in a transaction of its
 * own that first takes a transaction-level advisory lock, then checks it is
 * still pending: a session lock would leak through a transaction-mode pooler
 * (PgBouncer), where the lock and the unlock reach different server sessions.
 */
export async function migrate(
  sql: Sql,
  opts: { dir?: string; quiet?: boolean } = {},
): Promise<string[]> {
  const migrations = await readMigrations(opts.dir);
  const applied: string[] = [];
  const done = await appliedVersions(sql);
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    const ran = await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
      await tx`
        CREATE TABLE IF NOT EXISTS schema_migrations (
          version integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`;
      // Another process may have applied it while this one waited for the lock.
      const [row] = await tx`SELECT 1 FROM schema_migrations WHERE version = ${m.version}`;
      if (row) return false;
      try {
        await tx.unsafe(m.sql);
      } catch (err) {
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      await tx`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      return true;
    });
    if (!ran) continue;
    applied.push(m.name);
    if (!opts.quiet) log("info", "migration.applied", { name: m.name });
  }
  return applied;
}

/** Versions recorded in `schema_migrations` (empty when the table does not exist yet). */
async function appliedVersions(sql: Sql): Promise<Set<number>> {
  const [{ exists }] = await sql<{ exists: boolean }[]>`
    SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`;
  if (!exists) return new Set();
  return new Set(
    (await sql<{ version: number }[]>`SELECT version FROM schema_migrations`).map((r) => r.version),
  );
}

/** Names of migration files not yet applied (for `/readyz`). */
export async function pendingMigrations(sql: Sql): Promise<string[]> {
  const all = await readMigrations();
  const done = await appliedVersions(sql);
  return all.filter((m) => !done.has(m.version)).map((m) => m.name);
}
