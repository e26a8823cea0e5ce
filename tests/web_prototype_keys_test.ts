/** Names of Object.prototype members in paths and query strings are plain unknown values, never a 500. */
import { withApp } from "./_helpers/app.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";

Deno.test(
  "web: constructor, __proto__ and toString in paths and queries answer 404 or the page, not 500",
  () =>
    withApp(async (s) => {
      const job = await insertJob(s.db.sql, { status: "completed" });
      for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
        const asset = await s.call(`/docs/assets/${key}`);
        assertEquals(asset.status, 404, `/docs/assets/${key}`);
        await asset.body?.cancel();
        for (const path of [`/jobs?bulk=${key}&done=1`, `/jobs/${job.id}?done=${key}`]) {
          const res = await s.call(path);
          const html = await res.text();
          assertEquals(res.status, 200, path);
          assert(!html.includes("function Object()"), `${path} printed a prototype member`);
        }
      }
    }),
);
