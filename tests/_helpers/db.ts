/**
 * Test databases. The server is `TEST_DATABASE_URL`, else `DATABASE_URL`,
 * else the embedded one. A template database (named after a hash of the
 * migration files) is migrated once; each test file clones it into a database
 * of its own and drops it at the end.
 */
import { openPool, resolveDatabase, type Sql, withDatabase } from "../../lib/db.ts";
import { migrate, readMigrations } from "../../lib/migrate.ts";

let adminUrlPromise: Promise<string> | undefined;

/** URL of the server's maintenance database (`postgres`). */
export function adminUrl(): Promise<string> {
  adminUrlPromise ??= (async () => {
    const given = Deno.env.get("TEST_DATABASE_URL") || Deno.env.get("DATABASE_URL");
    const db = await resolveDatabase({ databaseUrl: given || undefined, quiet: true });
    return withDatabase(db.url, "postgres");
  })();
  return adminUrlPromise;
}

async function templateName(): Promise<string> {
  const text = (await readMigrations()).map((m) => m.name + "\n" + m.sql).join("\n");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const hex = [...new Uint8Array(digest)].slice(0, 6).map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  return `jobq_tpl_${hex}`;
}

const LOCK = 7_245_002;

/** A fresh, migrated database of its own. */
export interface TestDb {
  url: string;
  name: string;
  sql: Sql;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** Creates a migrated database for one test file (clone of the template). */
export async function createTestDb(opts: { max?: number } = {}): Promise<TestDb> {
  const admin = openPool(await adminUrl(), { max: 1, name: "jobq-test-admin" });
  const tpl = await templateName();
  const name = `jobq_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  try {
    const conn = await admin.reserve();
    try {
      await conn`SELECT pg_advisory_lock(${LOCK})`;
      try {
        const [{ n }] = await conn<
          { n: number }[]
        >`SELECT count(*)::int AS n FROM pg_database WHERE datname = ${tpl}`;
        if (n === 0) {
          // Old templates of earlier migration sets go first.
          const old = await conn<{ datname: string }[]>`
            SELECT datname FROM pg_database WHERE datname LIKE 'jobq\_tpl\_%'`;
          for (const o of old) await conn`DROP DATABASE IF EXISTS ${conn(o.datname)} WITH (FORCE)`;
          await conn`CREATE DATABASE ${conn(tpl + "_build")}`;
          const build = openPool(withDatabase(await adminUrl(), tpl + "_build"), { max: 1 });
          try {
            await migrate(build, { quiet: true });
          } finally {
            await build.end();
          }
          await conn`ALTER DATABASE ${conn(tpl + "_build")} RENAME TO ${conn(tpl)}`;
        }
        await conn`CREATE DATABASE ${conn(name)} TEMPLATE ${conn(tpl)}`;
      } finally {
        await conn`SELECT pg_advisory_unlock(${LOCK})`;
      }
    } finally {
      conn.release();
    }
  } finally {
    await admin.end();
  }
  const url = withDatabase(await adminUrl(), name);
  const sql = openPool(url, { max: opts.max ?? 10, name: "jobq-test" });
  return {
    url,
    name,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      const a = openPool(await adminUrl(), { max: 1 });
      try {
        await a`DROP DATABASE IF EXISTS ${a(name)} WITH (FORCE)`;
      } finally {
        await a.end();
      }
    },
  };
}

/** A fixed clock for tests: `now()` returns the instant; `advance(ms)` moves it. */
export function fixedClock(start = new Date("2026-01-15T12:00:00.000Z")) {
  let t = start.getTime();
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
  };
}

/** A seeded pseudo-random generator (mulberry32) for jitter in tests. */
export function seededRandom(seed = 42): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Holds `job` locked against inserts while `during` runs: an insert started
 * in it waits until `during` returns and the lock is released.
 */
export async function withInsertsBlocked(db: TestDb, during: () => Promise<void>): Promise<void> {
  const conn = await db.sql.reserve();
  try {
    await conn`BEGIN`;
    await conn`LOCK TABLE job IN SHARE ROW EXCLUSIVE MODE`;
    try {
      await during();
    } finally {
      await conn`COMMIT`;
    }
  } finally {
    conn.release();
  }
}

/**
 * Makes every insert into `job` of a job whose payload `message` is `message`
 * fail with SQLSTATE `code` (default P0001, a plain RAISE), through a BEFORE
 * INSERT trigger; other inserts go through. Replaces an earlier refusal;
 * {@link allowInserts} removes it.
 */
export async function refuseInsertsOf(sql: Sql, message: string, code = "P0001"): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS test_refusal (message text PRIMARY KEY, code text NOT NULL)`;
  await sql`DELETE FROM test_refusal`;
  await sql`INSERT INTO test_refusal (message, code) VALUES (${message}, ${code})`;
  await sql`
    CREATE OR REPLACE FUNCTION test_refuse_job() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      refused text;
    BEGIN
      SELECT code INTO refused FROM test_refusal WHERE message = NEW.payload->>'message';
      IF refused IS NOT NULL THEN
        RAISE EXCEPTION 'refused by test trigger' USING ERRCODE = refused;
      END IF;
      RETURN NEW;
    END $$`;
  await sql`DROP TRIGGER IF EXISTS test_refuse_job ON job`;
  await sql`CREATE TRIGGER test_refuse_job BEFORE INSERT ON job
    FOR EACH ROW EXECUTE FUNCTION test_refuse_job()`;
}

/** Ends {@link refuseInsertsOf}. */
export async function allowInserts(sql: Sql): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS test_refuse_job ON job`;
  await sql`DROP TABLE IF EXISTS test_refusal`;
}
