/**
 * The pages of a running job: a Cancel button (a POST form, 303, no
 * JavaScript needed) that asks it to stop, and its progress on the job page
 * and in its list row.
 */
import { createApp } from "../lib/app.ts";
import { parseConfig } from "../lib/config.ts";
import { jobs } from "../lib/queue/mod.ts";
import { createTestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assert, assertEquals, assertStringIncludes } from "./_helpers/assert.ts";
import { $, parse, text } from "./_helpers/html.ts";

const BASE = "http://localhost";
const ORIGIN = { origin: BASE, "sec-fetch-site": "same-origin" };

Deno.test("pages: a running job's page cancels it by form (303) and shows its progress, also in the list", async () => {
  const db = await createTestDb();
  const app = await createApp({ sql: db.sql, config: parseConfig({}) });
  const get = async (path: string) =>
    parse(await (await app.fetch(new Request(BASE + path))).text());
  try {
    const job = await insertJob(db.sql, { status: "processing", attempts: 1, locked_by: "w/1" });
    assert(
      await jobs.setProgress(db.sql, {
        id: job.id,
        attempt: 1,
        worker: "w/1",
        percent: 60,
        message: "rendering <b>",
      }),
    );
    const page = await get(`/jobs/${job.id}`);
    const bar = $(page, "[data-job-progress] [role=progressbar]");
    assertEquals(bar.getAttribute("aria-valuenow"), "60");
    assertEquals(text($(page, "[data-progress-message]")), "rendering <b>");
    const cancel = $(page, 'form[action^="/jobs/"] input[name=action][value=cancel]');
    assertEquals(cancel.closest("form")?.getAttribute("method"), "post");

    const list = await get("/jobs?status=processing");
    const row = $(list, `tr[data-job-id="${job.id}"]`);
    assertEquals($(row, "[role=progressbar]").getAttribute("aria-valuenow"), "60");

    const res = await app.fetch(
      new Request(`${BASE}/jobs/${job.id}`, {
        method: "POST",
        body: new URLSearchParams({ action: "cancel" }),
        headers: ORIGIN,
        redirect: "manual",
      }),
    );
    assertEquals(res.status, 303);
    assertEquals(res.headers.get("location"), `/jobs/${job.id}?done=cancel_requested`);
    const row2 = await jobs.get(db.sql, { id: job.id });
    assertEquals([row2?.status, row2?.cancel_requested_at !== null], ["processing", true]);
    const after = await get(res.headers.get("location")!);
    assertStringIncludes(text(after.body), "Cancel requested");
    assert($(after, "[data-cancel-requested]"));
    const again = $(after, "input[name=action][value=cancel]").closest("form")!;
    assert($(again, "button").hasAttribute("disabled"), "asked already: the button is disabled");
  } finally {
    await app.close();
    await db.drop();
  }
});
