/**
 * Page and API fixes of the jobs list and the job page, through
 * the in-process harness and linkedom: sorting by status and type, pagination
 * with first/last and page numbers, out-of-range pages, the empty list, the
 * dashboard total as a live region, titles, the timeline's count, the report
 * download, readable retry times and folded stack traces.
 */
import { artifacts, jobs } from "../lib/queue/mod.ts";
import { withApp as withTestApp } from "./_helpers/app.ts";
import type { TestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_helpers/assert.ts";
import { $, $$, expectCount, parse, text } from "./_helpers/html.ts";
import { pageWindow } from "../components/Pagination.tsx";

const BASE = "http://localhost";

/** The in-process harness (tests/_helpers/app.ts) on `BASE`, a database per test. */
function withApp(
  fn: (ctx: { db: TestDb; fetch: (path: string) => Promise<Response> }) => Promise<void>,
) {
  return withTestApp((s) => fn({ db: s.db, fetch: (path) => s.call(path) }), {}, { base: BASE });
}

const page = async (res: Response) => parse(await res.text());
const LIFECYCLE = ["pending", "processing", "completed", "failed", "cancelled"];

Deno.test("list: jobs sort by status (lifecycle order) and by type, in /jobs and GET /api/jobs", async () => {
  await withApp(async ({ db, fetch }) => {
    const t0 = Date.parse("2026-01-15T12:00:00Z");
    const statuses = ["failed", "completed", "cancelled", "pending", "processing"] as const;
    const types = ["report", "email", "notification"];
    for (let i = 0; i < 10; i++) {
      await insertJob(db.sql, {
        status: statuses[i % 5],
        type: types[i % 3],
        payload: { to: `s${i}@example.com`, subject: "s", body: "b" },
        created_at: new Date(t0 + i * 1000),
      });
    }
    const api = await fetch("/api/jobs?sort=status&order=asc&limit=100");
    assertEquals(api.status, 200, await api.clone().text());
    const got = ((await api.json()).items as { status: string }[]).map((j) => j.status);
    assertEquals(got, LIFECYCLE.flatMap((s) => [s, s]));
    const byType = await (await fetch("/api/jobs?sort=type&order=desc&limit=100")).json();
    assertEquals(
      (byType.items as { type: string }[]).map((j) => j.type),
      [...Array(4).fill("report"), ...Array(3).fill("notification"), ...Array(3).fill("email")],
    );

    const list = await page(await fetch("/jobs?sort=status&order=desc"));
    const shown = $$(list, "tbody tr[data-job-id] td:nth-child(3)").map(text);
    assertEquals(shown, [...LIFECYCLE].reverse().flatMap((s) => [s, s]));
    const header = $(list, 'th[aria-sort="descending"]');
    assertStringIncludes(text(header), "Status");
    assertEquals($(header, "a").getAttribute("href"), "/jobs?sort=status&order=asc");
    $(list, 'th a[href="/jobs?sort=type"]');
  });
});

Deno.test("list: pagination offers first, last and page numbers around the current page", async () => {
  assertEquals(pageWindow(1, 1), [1]);
  assertEquals(pageWindow(1, 4), [1, 2, 3, 4]);
  assertEquals(pageWindow(10, 20), [1, null, 9, 10, 11, null, 20]);
  assertEquals(pageWindow(2, 20), [1, 2, 3, null, 20]);
  assertEquals(pageWindow(19, 20), [1, null, 18, 19, 20]);
  await withApp(async ({ db, fetch }) => {
    for (let i = 0; i < 71; i++) await insertJob(db.sql, {});
    const p3 = await page(await fetch("/jobs?size=10&page=3"));
    const nav = $(p3, 'nav[aria-label="Pagination"]');
    assertEquals($(nav, 'a[rel="first"]').getAttribute("href"), "/jobs?size=10");
    assertEquals($(nav, 'a[rel="last"]').getAttribute("href"), "/jobs?size=10&page=8");
    assertEquals(text($(nav, '[aria-current="page"]')), "3");
    const numbers = $$(nav, "[data-page]").map((a) => a.getAttribute("data-page"));
    assertEquals(numbers, ["1", "2", "3", "4", "8"]);
    assertStringIncludes(text($(nav, "[data-range]")), "21–30 of 71");
  });
});

Deno.test("list: a page past the end says so and links to the last page", async () => {
  await withApp(async ({ db, fetch }) => {
    for (let i = 0; i < 71; i++) await insertJob(db.sql, {});
    const res = await fetch("/jobs?page=999");
    assertEquals(res.status, 200);
    const doc = await page(res);
    const body = text(doc.body);
    assert(!body.includes("19,961"), body);
    assertStringIncludes(text($(doc, "[data-out-of-range]")), "Page 999 does not exist");
    assertEquals($(doc, "[data-out-of-range] a").getAttribute("href"), "/jobs?page=4");
    assertStringIncludes(text($(doc, "[data-range]")), "71 jobs");
  });
});

Deno.test("list: an empty queue says there are no jobs yet, a filtered one that nothing matches", async () => {
  await withApp(async ({ db, fetch }) => {
    const empty = await page(await fetch("/jobs"));
    const msg = text($(empty, "[data-empty]"));
    assertStringIncludes(msg, "No jobs yet");
    assert(!msg.includes("match"), msg);
    await insertJob(db.sql, { status: "pending" });
    const none = await page(await fetch("/jobs?status=failed"));
    assertStringIncludes(text($(none, "[data-empty]")), "No jobs match these filters");
  });
});

Deno.test("dashboard: the queue total sits in a live region; /docs is in the navigation", async () => {
  await withApp(async ({ db, fetch }) => {
    await insertJob(db.sql, {});
    const d = await page(await fetch("/"));
    assertStringIncludes(text($(d, '[data-live="total"]')), "1 job in the queue table");
    $(d, 'nav[aria-label="Main"] a[href="/docs"]');
  });
});

Deno.test("pages: the 404 page is titled 'Page not found', error pages by their heading", async () => {
  await withApp(async ({ fetch }) => {
    const nf = await page(await fetch("/no/such/page"));
    assertEquals(text($(nf, "title")), "Page not found · jobq");
    const gone = await page(await fetch("/jobs/00000000-0000-0000-0000-000000000000"));
    assertEquals(text($(gone, "title")), "Not found · jobq");
  });
});

Deno.test("job page: '1 event', a download only when a file exists, readable retry time, folded stack", async () => {
  await withApp(async ({ db, fetch }) => {
    const lone = await insertJob(db.sql, { status: "pending" });
    const one = await page(await fetch(`/jobs/${lone.id}`));
    assertEquals(text($(one, 'section[aria-label^="Timeline"] h2')), "Timeline · 1 event");

    const report = {
      type: "report",
      status: "completed" as const,
      payload: {
        report_type: "failures",
        format: "csv",
        date_range: { from: "2026-01-01", to: "2026-01-31" },
      },
      result: { rows: 0 },
    };
    const noFile = await insertJob(db.sql, report);
    const withFile = await insertJob(db.sql, report);
    await artifacts.put(db.sql, {
      jobId: withFile.id,
      filename: "r.csv",
      contentType: "text/csv",
      bytes: new TextEncoder().encode("a,b\n"),
    });
    const a = await page(await fetch(`/jobs/${noFile.id}`));
    expectCount(a, 'a[href$="/artifact"]', 0);
    assertStringIncludes(text($(a, 'section[aria-label="Result"]')), "No file");
    const b = await page(await fetch(`/jobs/${withFile.id}`));
    expectCount(b, 'a[href$="/artifact"]', 1);

    const running = await insertJob(db.sql, { status: "processing", attempts: 1 });
    const err = new Error("SMTP said no");
    err.stack = "Error: SMTP said no\n    at send (mail.ts:10:5)\n    at run (runner.ts:99:3)";
    await jobs.fail(db.sql, {
      id: running.id,
      worker: "test-worker",
      attempt: 1,
      error: err,
      retry: { baseMs: 60_000, maxMs: 60_000, random: () => 0.5 },
      now: new Date("2026-01-15T12:00:00Z"),
    });
    const f = await page(await fetch(`/jobs/${running.id}`));
    const failed = $(f, '[data-event="failed"]');
    const msg = text(failed);
    assertMatch(msg, /retry scheduled at 2026-01-15 12:0\d:\d\d UTC/);
    assert(!/\+00/.test(msg), msg);
    const fold = $(failed, "details[data-stack]");
    assert(!fold.hasAttribute("open"));
    assertStringIncludes(text($(fold, "summary")), "2 lines");
    assertStringIncludes(text($(failed, "[data-error-head]")), "SMTP said no");
    const last = $(f, '[aria-label="Last error"]');
    assertStringIncludes(text($(last, "[data-error-head]")), "SMTP said no");
    $(last, "details[data-stack]:not([open])");
  });
});
