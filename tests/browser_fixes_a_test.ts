/**
 * Dashboard fixes in Chromium against a real server: `/workers` with a live
 * supervisor running slow jobs, the create form's errors (Enter, the first
 * click, labels, without JavaScript), and jobs scheduled for later (badge,
 * retry). Screenshots land in `.data/screenshots/`.
 */
import type { Browser, Page } from "playwright-core";
import { insertJob } from "./_helpers/factory.ts";
import { launchBrowser, openPage, screenshot, startServer } from "./_helpers/browser.ts";
import { islandsReady } from "./_helpers/browser.ts";
import { collect, enqueue, TEST_HANDLERS, testSupervisor } from "./_helpers/worker_sup.ts";
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { slotsOf } from "../components/Workers.tsx";
import type { Job, WorkerRow } from "../lib/queue/types.ts";

/** Screenshots of `path` at desktop and phone widths, light and dark. */
async function shots(browser: Browser, url: string, name: string, problems: string[]) {
  for (const width of [1280, 390]) {
    for (const colorScheme of ["light", "dark"] as const) {
      const o = await openPage(browser, { width, colorScheme });
      await o.page.goto(url);
      await islandsReady(o.page);
      await screenshot(o.page, `${name}-${width}-${colorScheme}`);
      problems.push(...o.problems);
      await o.context.close();
    }
  }
}

/** Lets a hydrated island finish re-rendering (a frame and a task). */
function settle(page: Page) {
  return page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
}

const errorsOf = (page: Page) =>
  page.$$eval(
    "[data-error-for]",
    (els) => Object.fromEntries(els.map((e) => [e.getAttribute("data-error-for"), e.textContent])),
  );

Deno.test({
  name: "browser: /workers shows each runner's job, linked, with how long it has run",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startServer();
    const browser = await launchBrowser();
    const { sql } = server.db;
    const { sup, dataDir } = await testSupervisor(server.db.url, {
      handlersModule: TEST_HANDLERS,
      concurrency: 3,
      claimBatch: 1,
      // A lease the busy machine cannot miss: a lapsed one rescues the job and
      // another runner claims it, so the page would name a different runner.
      env: { JOB_LEASE_SECONDS: "120" },
    });
    try {
      const claimed = collect(
        sup,
        ["claimed"],
        (es) => es.flatMap((e) => e.kind === "claimed" ? e.jobs : []).length >= 2,
        60_000,
      );
      for (let i = 0; i < 2; i++) await enqueue(sql, "slow_email", { ms: 120_000 });
      await sql`SELECT pg_notify('jobq_new', '')`;
      await claimed;
      const held = await sql<{ id: string; locked_by: string }[]>`
        SELECT id, locked_by FROM job WHERE status = 'processing'`;
      assertEquals(held.length, 2);
      assert(held[0].locked_by !== held[1].locked_by, "one job per runner (claimBatch 1)");

      const { page, problems, context } = await openPage(browser);
      await page.goto(server.url + "/workers");
      // Every runner has its row; a busy one links its job and says how long it has run.
      const seen = [];
      for (let n = 1; n <= 3; n++) {
        const row = page.locator(`li:has(span[title="${sup.id}/${n}"])`);
        const rows = await row.count();
        const text = rows === 1 ? await row.innerText() : "";
        const links = rows === 1
          ? await row.locator("a").evaluateAll((as) => as.map((a) => a.getAttribute("href")))
          : [];
        seen.push({
          runner: n,
          rows,
          links,
          elapsed: /running for \d+(\.\d)? (ms|s)\b/.test(text),
          idle: /\bidle\b/.test(text),
        });
      }
      assertEquals(
        seen,
        [1, 2, 3].map((n) => {
          const job = held.find((j) => j.locked_by === `${sup.id}/${n}`);
          return {
            runner: n,
            rows: 1,
            links: job ? [`/jobs/${job.id}`] : [],
            elapsed: !!job,
            idle: !job,
          };
        }),
      );
      assertMatch(await page.innerText("main"), /Web Workers · 2\/3 busy/);
      await context.close();
      await shots(browser, server.url + "/workers", "fixes-workers", problems);
      assertEquals(problems, []);
    } finally {
      await sup.stop();
      await browser.close();
      await server.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test("workers: a slot's elapsed time comes from the heartbeat that names its job, else from the claim", () => {
  const now = new Date("2026-01-15T12:00:10Z");
  const w: WorkerRow = {
    id: "box:1:abc",
    host: "box",
    pid: 1,
    concurrency: 3,
    started_at: new Date("2026-01-15T11:00:00Z"),
    heartbeat_at: new Date("2026-01-15T12:00:08Z"),
    stopping: false,
    info: {
      runners: [
        { worker: "box:1:abc/1", state: "running", job: "a", running_ms: 5000 },
        { worker: "box:1:abc/2", state: "running" },
        { worker: "box:1:abc/4", state: "dead" },
      ],
    },
  };
  const job = (id: string, locked_by: string, started: string) =>
    ({ id, locked_by, started_at: new Date(started), status: "processing" }) as unknown as Job;
  const running = [
    job("b", "box:1:abc/1", "2026-01-15T12:00:02Z"), // claimed with a, waits for it
    job("a", "box:1:abc/1", "2026-01-15T12:00:01Z"),
    job("c", "box:1:abc/5", "2026-01-15T12:00:09Z"), // runner newer than the heartbeat
    job("x", "other:2:def/1", "2026-01-15T12:00:00Z"),
  ];
  const slots = slotsOf(w, running, now);
  assertEquals(
    slots.map((s) => [s.runner.slice(-2), s.state, s.job?.id ?? null, s.elapsedMs, s.waiting]),
    [
      ["/1", "running", "a", 7000, 1],
      ["/2", "running", null, null, 0],
      ["/4", "dead", null, null, 0],
      ["/5", undefined, "c", 1000, 0],
    ],
  );
  // Rows from older processes (bare names) and rows without any report.
  assertEquals(
    slotsOf({ ...w, info: { runners: ["box:1:abc/7"] } }, [], now).map((s) => s.runner),
    ["box:1:abc/7"],
  );
  assertEquals(
    slotsOf({ ...w, info: {} }, [], now).map((s) => s.runner),
    ["box:1:abc/1", "box:1:abc/2", "box:1:abc/3"],
  );
});

Deno.test({
  name: "browser: the create form shows every error on Enter and on the first click, by label",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const server = await startServer();
    const browser = await launchBrowser();
    const problems: string[] = [];
    const open = async (path: string, javaScript = true) => {
      const o = await openPage(browser, { javaScript });
      problems.push(...o.problems);
      await o.page.goto(server.url + path);
      if (javaScript) await islandsReady(o.page);
      return o;
    };
    try {
      await t.step("Enter in a filled field of an incomplete form: every error stays", async () => {
        const { page, context } = await open("/jobs/new?type=email");
        await page.fill('[name="to"]', "ada@example.com");
        await page.press('[name="to"]', "Enter");
        // The first invalid field takes the focus; leaving "to" must not wipe the errors.
        await page.waitForFunction(() =>
          (document.activeElement as HTMLInputElement | null)?.name === "subject"
        );
        await settle(page);
        assertEquals(await errorsOf(page), {
          subject: "Subject is required",
          body: "Body is required",
        });
        assertMatch(page.url(), /\/jobs\/new/);
        await context.close();
      });

      await t.step("one click on Create job right after typing a bad value submits", async () => {
        const { page, context } = await open("/jobs/new?type=email");
        await page.fill('[name="to"]', "not-an-email");
        await page.click("button:has-text('Create job')");
        await page.waitForSelector('[data-error-for="to"]');
        await settle(page);
        assertEquals(await errorsOf(page), {
          to: "To must be an email address",
          subject: "Subject is required",
          body: "Body is required",
        });
        assertEquals(await page.evaluate(() => document.activeElement?.id), "f-to");
        await screenshot(page, "fixes-new-job-errors");
        await context.close();
      });

      await t.step("report errors read the labels, not the payload keys", async () => {
        const { page, context } = await open("/jobs/new?type=report");
        await page.fill('[name="date_range.from"]', "2026-03-01");
        await page.fill('[name="date_range.to"]', "2026-01-31");
        await page.click("button:has-text('Create job')");
        await page.waitForSelector('[data-error-for="report_type"]');
        await settle(page);
        assertEquals(await errorsOf(page), {
          report_type: "Choose a report",
          format: "Choose a format",
          "date_range.to": "From must be on or before To",
        });
        await context.close();
      });

      await t.step("without JavaScript the 422 page words its errors the same way", async () => {
        const { page, context } = await open("/jobs/new?type=email", false);
        await page.fill('[name="to"]', "nope");
        await page.fill('[name="body"]', "Hello");
        const [res] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === "POST"),
          page.click("button:has-text('Create job')"),
        ]);
        assertEquals(res.status(), 422);
        assertEquals(await errorsOf(page), {
          to: "To must be an email address",
          subject: "Subject is required",
        });
        const [{ n }] = await server.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
        assertEquals(n, 0, "an invalid post creates nothing");
        await context.close();
      });
      assertEquals(problems, []);
    } finally {
      await browser.close();
      await server.close();
    }
  },
});

Deno.test({
  name: "browser: a job scheduled for later says so; retrying a cancelled one keeps its schedule",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startServer();
    const browser = await launchBrowser();
    const { sql } = server.db;
    const min = 60_000;
    try {
      const t0 = Date.now();
      const later = await insertJob(sql, { scheduled_for: new Date(t0 + 4.5 * min) });
      const due = await insertJob(sql, { created_at: new Date(t0 - min) });
      const cancelledLater = await insertJob(sql, {
        status: "cancelled",
        scheduled_for: new Date(t0 + 10.5 * min),
      });
      const cancelledPast = await insertJob(sql, {
        status: "cancelled",
        scheduled_for: new Date(t0 - 5 * min),
        created_at: new Date(t0 - 6 * min),
      });
      const { page, problems, context } = await openPage(browser);
      page.on("dialog", (d) => d.accept());
      const badge = (id: string) =>
        page.innerText(`tr:has(a[href="/jobs/${id}"]) [data-badge]`).then((s) => s.trim());
      await page.goto(server.url + "/");
      await islandsReady(page);
      assertEquals(await badge(later.id), "scheduled · in 4 min");
      assertEquals(await badge(due.id), "pending");
      await page.goto(server.url + "/jobs");
      await islandsReady(page);
      assertEquals(await badge(later.id), "scheduled · in 4 min", "the jobs list says so too");
      assertEquals(await badge(due.id), "pending");
      const heading = () => page.innerText("h1 + [data-badge]").then((s) => s.trim());
      await page.goto(server.url + `/jobs/${later.id}`);
      assertEquals(await heading(), "scheduled · in 4 min");

      await page.goto(server.url + `/jobs/${cancelledLater.id}`);
      await islandsReady(page);
      await Promise.all([page.waitForURL(/done=retried/), page.click("button:has-text('Retry')")]);
      assertEquals(await heading(), "scheduled · in 10 min");
      assertMatch(
        await page.locator('[role="status"]', { hasText: "queued again" }).innerText(),
        /It keeps its schedule: it runs in 10 min/,
      );
      await screenshot(page, "fixes-retried-scheduled");

      await page.goto(server.url + `/jobs/${cancelledPast.id}`);
      await islandsReady(page);
      await Promise.all([page.waitForURL(/done=retried/), page.click("button:has-text('Retry')")]);
      assertEquals(await heading(), "pending");
      const [row] = await sql<{ scheduled_for: Date }[]>`
        SELECT scheduled_for FROM job WHERE id = ${cancelledPast.id}`;
      assert(row.scheduled_for.getTime() >= t0, "an overdue cancelled job is due now");
      await context.close();
      await shots(browser, server.url + "/", "fixes-dashboard-scheduled", problems);
      await shots(browser, server.url + `/jobs/${later.id}`, "fixes-job-scheduled", problems);
      assertEquals(problems, []);
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
