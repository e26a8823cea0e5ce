/** `DATABASE_PREPARE` and `DATABASE_LISTEN_URL`: validated at start, and what they change on the wire. */
import { ConfigError, parseConfig } from "../lib/config.ts";
import { openPool } from "../lib/db.ts";
import { assertEquals, assertStringIncludes } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";

Deno.test("pooler settings: a bad DATABASE_PREPARE or DATABASE_LISTEN_URL stops the start with a message naming it", () => {
  const refusal = (env: Record<string, string>) => {
    try {
      parseConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    throw new Error(`accepted ${JSON.stringify(env)}`);
  };
  assertStringIncludes(refusal({ DATABASE_PREPARE: "no" }), "DATABASE_PREPARE: ");
  assertStringIncludes(
    refusal({ DATABASE_LISTEN_URL: "http://db:5432/x" }),
    "DATABASE_LISTEN_URL: ",
  );
  assertEquals(parseConfig({}).DATABASE_PREPARE, true);
  assertEquals(parseConfig({ DATABASE_PREPARE: "false" }).DATABASE_PREPARE, false);
  assertEquals(parseConfig({}).DATABASE_LISTEN_URL, undefined);
});

Deno.test("pooler settings: prepare off leaves no named statement on the server and sends no jit startup parameter", async () => {
  const db = await createTestDb();
  const on = openPool(db.url, { max: 1, prepare: true });
  const off = openPool(db.url, { max: 1, prepare: false });
  try {
    for (let i = 0; i < 3; i++) {
      await on`SELECT ${i}::int AS v`;
      await off`SELECT ${i}::int AS v`;
    }
    const [a] = await on<{ n: number; jit: string }[]>`
      SELECT (SELECT count(*)::int FROM pg_prepared_statements) AS n, current_setting('jit') AS jit`;
    const [b] = await off<{ n: number; jit: string }[]>`
      SELECT (SELECT count(*)::int FROM pg_prepared_statements) AS n, current_setting('jit') AS jit,
             (SELECT setting FROM pg_settings WHERE name = 'jit') AS server`;
    assertEquals(a.jit, "off");
    assertEquals(a.n > 0, true, "prepared statements kept on the session");
    assertEquals(b.n, 0);
    // The server's own setting, not one this connection asked for at startup.
    assertEquals(b.jit, (b as unknown as { server: string }).server);
  } finally {
    await on.end();
    await off.end();
    await db.drop();
  }
});
