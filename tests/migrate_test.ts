/** Migrations: applied once each, in order, even when many processes start together. */
import { openPool, withDatabase } from "../lib/db.ts";
import { migrate, pendingMigrations, readMigrations } from "../lib/migrate.ts";
import { adminUrl } from "./_helpers/db.ts";
import { assertEquals } from "./_helpers/assert.ts";

Deno.test({
  name: "migrate: ten concurrent runs apply each file exactly once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const admin = openPool(await adminUrl(), { max: 1 });
    const name = `jobq_test_mig_${crypto.randomUUID().slice(0, 8)}`;
    await admin`CREATE DATABASE ${admin(name)}`;
    const url = withDatabase(await adminUrl(), name);
    const pools = Array.from({ length: 10 }, () => openPool(url, { max: 1 }));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p, { quiet: true })));
      const files = (await readMigrations()).map((m) => m.name);
      assertEquals(
        results.flat().sort(),
        [...files].sort(),
        "each file applied by exactly one run",
      );
      const [{ n }] = await pools[0]<
        { n: number }[]
      >`SELECT count(*)::int AS n FROM schema_migrations`;
      assertEquals(n, files.length);
      assertEquals(await pendingMigrations(pools[0]), []);
      assertEquals(await migrate(pools[0], { quiet: true }), []);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`;
      await admin.end();
    }
  },
});

Deno.test({
  name: "migrate: a failing file rolls back and names itself",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/0001_ok.sql`, "CREATE TABLE t_ok (id int);");
    await Deno.writeTextFile(
      `${dir}/0002_bad.sql`,
      "CREATE TABLE t_bad (id int); SELECT no_such_function();",
    );
    const admin = openPool(await adminUrl(), { max: 1 });
    const name = `jobq_test_mig_${crypto.randomUUID().slice(0, 8)}`;
    await admin`CREATE DATABASE ${admin(name)}`;
    const sql = openPool(withDatabase(await adminUrl(), name), { max: 1 });
    try {
      let message = "";
      try {
        await migrate(sql, { dir, quiet: true });
      } catch (err) {
        message = (err as Error).message;
      }
      assertEquals(message.startsWith("migration 0002_bad.sql failed"), true, message);
      const [{ ok, bad }] = await sql<{ ok: boolean; bad: boolean }[]>`
        SELECT to_regclass('t_ok') IS NOT NULL AS ok, to_regclass('t_bad') IS NOT NULL AS bad`;
      assertEquals([ok, bad], [true, false]);
    } finally {
      await sql.end();
      await admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`;
      await admin.end();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
