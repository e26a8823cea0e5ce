/**
 * A job type named in a request is looked up among the job types only, never
 * among Object's own properties: `?type=constructor` on the create form is
 * the email form, not a 500; a job of such a type is refused (422).
 */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { openApp } from "./_helpers/app.ts";
import { JOB_TYPES } from "../lib/jobs/mod.ts";

Deno.test("job types: Object's property names are no job types", async () => {
  for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) {
    assertEquals(JOB_TYPES[name], undefined, name);
  }
  assertEquals(Object.keys(JOB_TYPES).sort(), ["email", "notification", "report"]);
  const app = await openApp();
  try {
    for (const name of ["constructor", "toString", "__proto__"]) {
      const page = await app.call(`/jobs/new?type=${name}`);
      const html = await page.text();
      assertEquals(page.status, 200, `GET /jobs/new?type=${name}: ${html.slice(0, 300)}`);
      assert(html.includes('value="email" selected'), `the email form for ${name}`);
      const created = await app.call("/api/jobs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: name, payload: {} }),
      });
      assertEquals(created.status, 422, `POST /api/jobs type ${name}`);
      await created.body?.cancel();
    }
  } finally {
    await app.close();
  }
});
