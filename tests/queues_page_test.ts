/**
 * The /queues page: without JavaScript (forms post urlencoded, 303 back, 422
 * with the field's error, cross-site posts refused, the create form's queue
 * field) and in Chromium (pause with the button, live counts, a screenshot
 * at /tmp/queues.png).
 */
import { jobs, queues } from "../lib/queue/mod.ts";
import { openApp } from "./_helpers/app.ts";
import { launchBrowser, openPage, startServer } from "./_helpers/browser.ts";
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { $, parse, text } from "./_helpers/html.ts";

const EMAIL = { to: "ada@example.com", subject: "Hello", body: "Hi Ada" };
const SAME = { origin: "http://127.0.0.1:8000", "sec-fetch-site": "same-origin" };

function form(fields: Record<string, string>, headers: Record<string, string> = SAME) {
  return {
    method: "POST",
    body: new URLSearchParams(fields),
    headers,
    redirect: "manual" as const,
  };
}

Deno.test("queues page without JavaScript: table, pause/resume and limit forms, new-job queue field", async (t) => {
  const app = await openApp();
  const sql = app.db.sql;
  try {
    await jobs.enqueueBatch(sql, {
      jobs: [
        { type: "email", payload: EMAIL, queue: "mail" },
        { type: "email", payload: EMAIL, queue: "mail" },
      ],
    });
    await t.step("the table lists every queue with its counts, linked from the nav", async () => {
      const res = await app.call("/queues");
      assertEquals(res.status, 200);
      const doc = parse(await res.text());
      assert($(doc, 'nav a[href="/queues"]'));
      const row = $(doc, 'tr[data-queue="mail"]');
      assertEquals(text($(row, 'td[data-count="pending"]')), "2");
      assertEquals(text($(row, "[data-state]")), "active");
      assert($(doc, 'tr[data-queue="default"]'));
    });

    await t.step("pause and resume post to the page and answer 303 back", async () => {
      let res = await app.call("/queues", form({ queue: "mail", action: "pause" }));
      assertEquals(res.status, 303);
      assertMatch(res.headers.get("location") ?? "", /^\/queues\?done=paused&queue=mail$/);
      assertEquals((await queues.get(sql, { name: "mail" }))?.paused, true);
      const doc = parse(await (await app.call(res.headers.get("location")!)).text());
      assertEquals(text($($(doc, 'tr[data-queue="mail"]'), "[data-state]")), "paused");
      assertMatch(text($(doc, '[role="status"]')), /mail: Queue paused/);
      res = await app.call("/queues", form({ queue: "mail", action: "resume" }));
      assertEquals(res.status, 303);
      assertEquals((await queues.get(sql, { name: "mail" }))?.paused, false);
    });

    await t.step("the limit form sets, refuses 0 with a 422 and clears", async () => {
      let res = await app.call(
        "/queues",
        form({ queue: "mail", action: "limit", concurrency: "3" }),
      );
      assertEquals(res.status, 303);
      assertEquals((await queues.get(sql, { name: "mail" }))?.concurrency, 3);
      res = await app.call("/queues", form({ queue: "mail", action: "limit", concurrency: "0" }));
      assertEquals(res.status, 422);
      const doc = parse(await res.text());
      assertMatch(text($(doc, '[role="alert"]')), /at least 1/);
      assertEquals(
        $($(doc, 'tr[data-queue="mail"]'), 'input[name="concurrency"]').getAttribute(
          "aria-invalid",
        ),
        "true",
      );
      assertEquals((await queues.get(sql, { name: "mail" }))?.concurrency, 3);
      res = await app.call("/queues", form({ queue: "mail", action: "limit", concurrency: "x" }));
      assertEquals(res.status, 422);
      res = await app.call("/queues", form({ queue: "mail", action: "limit", concurrency: "" }));
      assertEquals(res.status, 303);
      assertEquals((await queues.get(sql, { name: "mail" }))?.concurrency, null);
      res = await app.call("/queues", form({ queue: "nope", action: "pause" }));
      assertEquals(res.status, 404);
    });

    await t.step("a cross-site post is refused and changes nothing", async () => {
      const res = await app.call(
        "/queues",
        form({ queue: "mail", action: "pause" }, { origin: "https://evil.example" }),
      );
      assertEquals(res.status, 403);
      assertEquals((await queues.get(sql, { name: "mail" }))?.paused, false);
    });

    await t.step("/jobs/new takes a queue; a bad one is a 422 on that field", async () => {
      const base = {
        type: "email",
        priority: "3",
        to: "ada@example.com",
        subject: "s",
        body: "b",
      };
      let res = await app.call("/jobs/new", form({ ...base, queue: "from-form" }));
      assertEquals(res.status, 303);
      const id = (res.headers.get("location") ?? "").split("/").pop()!.split("?")[0];
      assertEquals((await jobs.get(sql, { id }))?.queue, "from-form");
      res = await app.call("/jobs/new", form({ ...base, queue: "Bad Name" }));
      assertEquals(res.status, 422);
      const doc = parse(await res.text());
      assertEquals($(doc, "#f-queue").getAttribute("aria-invalid"), "true");
      res = await app.call("/jobs?queue=from-form");
      assertEquals(res.status, 200);
    });
  } finally {
    await app.close();
  }
});

Deno.test({
  name: "queues page in Chromium: pause with the button, counts update live",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startServer();
    const browser = await launchBrowser();
    const { sql } = server.db;
    try {
      await jobs.enqueueBatch(sql, {
        jobs: [
          { type: "email", payload: EMAIL, queue: "mail" },
          {
            type: "report",
            payload: {
              report_type: "job_summary",
              format: "csv",
              date_range: { from: "2026-11-01", to: "2026-11-30" },
            },
          },
        ],
      });
      await queues.update(sql, { name: "reports", change: { concurrency: 2 } });
      const { page, problems } = await openPage(browser);
      await page.goto(`${server.url}/queues`);
      await page.waitForSelector("[data-island] [data-ready]");
      await page.click('tr[data-queue="mail"] button[name="action"]');
      await page.waitForURL(/done=paused/);
      assertEquals(
        await page.textContent('tr[data-queue="mail"] [data-state]'),
        "paused",
      );
      await page.waitForSelector("[data-island] [data-ready]");
      // A job enqueued elsewhere shows up without a reload (live region over /api/events).
      await jobs.enqueue(sql, { job: { type: "email", payload: EMAIL, queue: "mail" } });
      server.app.changed.poke();
      await page.waitForFunction(
        () =>
          document.querySelector('tr[data-queue="mail"] td[data-count="pending"]')?.textContent ===
            "2",
        undefined,
        { timeout: 20_000 },
      );
      await page.screenshot({ path: "/tmp/queues.png", fullPage: true });
      assertEquals(problems, []);
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
