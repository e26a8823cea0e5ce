/** Names of Object.prototype members in paths and query strings are plain unknown values, never a 500. */
import { createApp } from "../lib/app.ts";
import { parseConfig } from "../lib/config.ts";
import { setLogLevel } from "../lib/log.ts";
import { createTestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";

Deno.test({
  name:
    "web: constructor, __proto__ and toString in paths and queries answer 404 or the page, not 500",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  setLogLevel("error");
  const db = await createTestDb();
  const app = await createApp({ sql: db.sql, config: parseConfig({ DATABASE_URL: db.url }) });
  try {
    const job = await insertJob(db.sql, { status: "completed" });
    for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const asset = await app.fetch(new Request(`http://localhost/docs/assets/${key}`));
      assertEquals(asset.status, 404, `/docs/assets/${key}`);
      await asset.body?.cancel();
      for (const path of [`/jobs?bulk=${key}&done=1`, `/jobs/${job.id}?done=${key}`]) {
        const res = await app.fetch(new Request(`http://localhost${path}`));
        const html = await res.text();
        assertEquals(res.status, 200, path);
        assert(!html.includes("function Object()"), `${path} printed a prototype member`);
      }
    }
  } finally {
    await app.close();
    await db.drop();
  }
});
