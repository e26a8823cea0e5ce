/** The embedded PostgreSQL: starts from nothing, is shared, and keeps its data across restarts. */
import { ensureEmbedded, stopEmbedded } from "../lib/embedded_pg.ts";
import { openPool } from "../lib/db.ts";
import { assertEquals } from "./_helpers/assert.ts";

Deno.test({
  name: "embedded postgres: initialises, is found by a second caller, survives a restart",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataRoot = await Deno.makeTempDir({ prefix: "jobq-embedded-" });
    if (Deno.uid() === 0) await new Deno.Command("chmod", { args: ["755", dataRoot] }).output();
    try {
      const [a, b] = await Promise.all([
        ensureEmbedded({ dataRoot }),
        ensureEmbedded({ dataRoot }),
      ]);
      assertEquals([a.started, b.started].sort(), [false, true], "exactly one caller started it");
      assertEquals(a.url, b.url);
      const sql = openPool(a.url, { max: 1 });
      await sql`CREATE TABLE kept (v text)`;
      await sql`INSERT INTO kept VALUES ('still here')`;
      await sql.end();
      await stopEmbedded({ dataRoot });
      const again = await ensureEmbedded({ dataRoot });
      assertEquals(again.started, true);
      const sql2 = openPool(again.url, { max: 1 });
      const rows = await sql2<{ v: string }[]>`SELECT v FROM kept`;
      assertEquals(rows.map((r) => r.v), ["still here"]);
      await sql2.end();
    } finally {
      await stopEmbedded({ dataRoot }).catch(() => {});
      await Deno.remove(dataRoot, { recursive: true });
    }
  },
});
