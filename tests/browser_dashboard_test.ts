/**
 * The dashboard in Chromium (playwright-core, system Chromium) against a real
 * server: the main flows a person does, live updates, hydration, no console
 * errors, and the same pages without JavaScript. Screenshots of every page
 * land in `.data/screenshots/`.
 */
import type { Page } from "playwright-core";
import { insertJob } from "./_helpers/factory.ts";
import {
  islandsReady,
  launchBrowser,
  openPage,
  screenshot,
  startServer,
} from "./_helpers/browser.ts";
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";

const UUID_PATH = /\/jobs\/[0-9a-f-]{36}/;

Deno.test({
  name: "browser: the dashboard's main flows in Chromium",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const server = await startServer();
    const browser = await launchBrowser();
    const { sql } = server.db;
    const all: string[] = [];
    // Each page's own list (failed requests, 5xx answers), read at the end: it fills as the page runs.
    const pageProblems: { path: string; javaScript: boolean; problems: string[] }[] = [];
    const open = async (path: string, opts: Parameters<typeof openPage>[1] = {}) => {
      const o = await openPage(browser, opts);
      pageProblems.push({ path, javaScript: opts.javaScript !== false, problems: o.problems });
      o.page.on("console", (m) => {
        // A 422 answer to an invalid form is the point of that request, not a fault.
        if (m.type() === "error" && !/status of 422/.test(m.text())) {
          all.push(`${path}: ${m.text()}`);
        }
      });
      o.page.on("pageerror", (e) => all.push(`${path}: ${e.message}`));
      o.page.on("dialog", (d) => {
        if (d.type() === "alert") all.push(`${path}: an alert ran: ${d.message()}`);
      });
      await o.page.goto(server.url + path);
      if (opts.javaScript !== false) await islandsReady(o.page);
      return o.page;
    };
    const accept = (page: Page) => page.once("dialog", (d) => d.accept());
    try {
      const t0 = Date.now();
      const ids: Record<string, string> = {};
      for (let i = 0; i < 12; i++) {
        const status = (["pending", "failed", "completed", "processing"] as const)[i % 4];
        const j = await insertJob(sql, {
          status,
          type: i % 3 === 0 ? "report" : "email",
          priority: (i % 5) + 1,
          created_at: new Date(t0 - i * 60_000),
          payload: i % 3 === 0
            ? {
              report_type: "failures",
              format: "csv",
              date_range: { from: "2026-01-01", to: "2026-01-31" },
            }
            : { to: `user${i}@example.com`, subject: `Hello ${i}`, body: "x".repeat(400) },
          result: status === "completed"
            ? { delivered: true, transport: "outbox", meta: { tries: [1, 2] } }
            : undefined,
        });
        ids[status] ??= j.id;
      }
      const evil = await insertJob(sql, {
        status: "failed",
        payload: {
          to: "<script>alert('xss')</script>",
          subject: '<img src=x onerror="alert(1)">',
          body: "b",
        },
        error: "<script>alert('err')</script>",
      });
      await sql`INSERT INTO worker (id, host, pid, concurrency) VALUES ('w-1', 'box-1', 4242, 4)`;

      await t.step(
        "create a job of each type through the form: invalid stays with errors, valid lands on the job",
        async () => {
          const page = await open("/jobs/new");
          const cases: [string, Record<string, string>, Record<string, string>][] = [
            ["email", { to: "ada@example.com", subject: "Hi", body: "Hello Ada" }, {
              to: "not-an-email",
            }],
            ["report", {
              report_type: "throughput",
              format: "csv",
              "date_range.from": "2026-01-01",
              "date_range.to": "2026-01-31",
            }, {
              "date_range.from": "2026-03-01",
            }],
            ["notification", { user_id: "user-7", channel: "sms", message: "Ping" }, {
              message: "",
            }],
          ];
          for (const [type, fields, breakIt] of cases) {
            await page.goto(server.url + "/jobs/new");
            await islandsReady(page);
            await page.selectOption("#f-type", type);
            const fill = async (name: string, value: string) => {
              const el = page.locator(`[name="${name}"]`);
              if (await el.evaluate((e) => e.tagName === "SELECT")) await el.selectOption(value);
              else await el.fill(value);
            };
            for (const [k, v] of Object.entries({ ...fields, ...breakIt })) await fill(k, v);
            await page.click("button:has-text('Create job')");
            const errName = Object.keys(breakIt)[0] === "date_range.from"
              ? "date_range.to"
              : Object.keys(breakIt)[0];
            await page.waitForSelector(`[data-error-for="${errName}"]`);
            assertMatch(page.url(), /\/jobs\/new/);
            if (type === "email") await screenshot(page, "new-job-invalid");
            for (const [k, v] of Object.entries(breakIt)) await fill(k, fields[k] ?? v);
            await Promise.all([
              page.waitForURL(UUID_PATH),
              page.click("button:has-text('Create job')"),
            ]);
            await page.waitForSelector(`h1:has-text("${type} job")`);
          }
          await page.close();
        },
      );

      await t.step(
        "search and filter the list; the URL holds the state and back works",
        async () => {
          const page = await open("/jobs");
          await screenshot(page, "jobs");
          await page.click('[data-filter="status"] summary');
          await Promise.all([
            page.waitForURL(/status=failed/),
            page.check('input[name="status"][value="failed"]'),
          ]);
          await islandsReady(page);
          const statuses = await page.$$eval(
            "tbody tr[data-job-id]",
            (rows) => rows.map((r) => r.textContent ?? ""),
          );
          assert(
            statuses.length > 0 && statuses.every((s) => s.includes("failed")),
            statuses.join("\n"),
          );
          await page.fill('input[name="q"]', "user1");
          await Promise.all([page.waitForURL(/q=user1/), page.press('input[name="q"]', "Enter")]);
          assertMatch(page.url(), /status=failed/);
          assertEquals(new URL(page.url()).search, "?q=user1&status=failed");
          await page.goBack();
          await page.waitForURL((u) => u.search === "?status=failed");
          await page.goto(server.url + "/jobs");
          await islandsReady(page);
          await page.waitForSelector("[data-restore]");
          await page.close();
        },
      );

      await t.step("bulk-cancel two jobs with a confirmation and a result message", async () => {
        const a = await insertJob(sql, {
          status: "pending",
          payload: { to: "bulk-a@example.com", subject: "a", body: "b" },
        });
        const b = await insertJob(sql, {
          status: "pending",
          payload: { to: "bulk-b@example.com", subject: "a", body: "b" },
        });
        const page = await open("/jobs?q=bulk-");
        await page.check(`tr[data-job-id="${a.id}"] input[type=checkbox]`);
        await page.check(`tr[data-job-id="${b.id}"] input[type=checkbox]`);
        await page.waitForSelector("[data-selection]:has-text('2 selected')");
        accept(page);
        await page.click("button[name=action][value=cancel]");
        await page.waitForSelector("#bulk-result:has-text('Cancelled 2 jobs')");
        const [{ n }] = await sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM job WHERE id IN (${a.id}, ${b.id}) AND status = 'cancelled'`;
        assertEquals(n, 2);
        await screenshot(page, "jobs-bulk-result");
        await page.close();
      });

      await t.step("retry a failed job from its page", async () => {
        const page = await open(`/jobs/${ids.failed}`);
        await screenshot(page, "job-failed");
        accept(page);
        await Promise.all([
          page.waitForURL(/done=retried/),
          page.click("button:has-text('Retry')"),
        ]);
        await page.waitForSelector("text=queued again");
        const [{ status }] = await sql<
          { status: string }[]
        >`SELECT status FROM job WHERE id = ${ids.failed}`;
        assertEquals(status, "pending");
        await page.close();
      });

      await t.step("expand and collapse the JSON viewer", async () => {
        const page = await open(`/jobs/${ids.completed}`);
        const openCount = () =>
          page.$$eval(
            "[data-json-viewer=Result] details[data-json-node]",
            (ds) => ds.filter((d) => (d as HTMLDetailsElement).open).length,
          );
        const total = await page.$$eval(
          "[data-json-viewer=Result] details[data-json-node]",
          (ds) => ds.length,
        );
        assert(total >= 3);
        await page.click("[data-json-viewer=Result] button:has-text('Collapse all')");
        assertEquals(await openCount(), 0);
        await page.click("[data-json-viewer=Result] details[data-json-node] > summary");
        assertEquals(await openCount(), 1);
        await page.click("[data-json-viewer=Result] button:has-text('Expand all')");
        assertEquals(await openCount(), total);
        await screenshot(page, "job-completed");
        await page.close();
      });

      await t.step(
        "the dashboard count changes live when a job is created through the API",
        async () => {
          const page = await open("/");
          await page.waitForSelector("[data-island=LiveRegion] :text('Live')");
          const read = () => page.textContent('[data-status="pending"] [data-count]');
          const before = Number((await read())!.replace(/,/g, ""));
          const res = await fetch(server.url + "/api/jobs", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              type: "email",
              payload: { to: "live@example.com", subject: "Live", body: "now" },
            }),
          });
          assertEquals(res.status, 201, await res.text());
          await page.waitForFunction(
            (n) =>
              Number(
                document.querySelector('[data-status="pending"] [data-count]')?.textContent
                  ?.replace(/,/g, ""),
              ) === n,
            before + 1,
            { timeout: 10_000 },
          );
          await page.waitForSelector("[data-live=recent] :text('live@example.com')");
          await screenshot(page, "dashboard");
          await page.click("[aria-label='Time range'] a:has-text('1h')");
          await page.waitForURL(/range=1h/);
          await page.close();
        },
      );

      await t.step("markup in job data shows as text and runs nothing", async () => {
        const page = await open(`/jobs/${evil.id}`);
        await page.waitForSelector("text=<script>alert('xss')</script>");
        assertEquals(await page.$$eval("img", (x) => x.length), 0);
        const list = await open("/jobs?q=xss");
        await list.waitForSelector("text=<script>alert('xss')</script>");
        await Promise.all([page.close(), list.close()]);
      });

      await t.step("workers page, phone width and dark mode render without errors", async () => {
        const page = await open("/workers");
        await screenshot(page, "workers");
        const pages: [string, string][] = [
          ["/", "dashboard"],
          ["/jobs", "jobs"],
          [`/jobs/${ids.completed}`, "job"],
          ["/jobs/new?type=report", "new-job"],
          ["/workers", "workers"],
        ];
        for (const [path, name] of pages) {
          await page.emulateMedia({ colorScheme: "dark" });
          await page.setViewportSize({ width: 1280, height: 860 });
          await page.goto(server.url + path);
          await islandsReady(page);
          await screenshot(page, `${name}-dark`);
          await page.emulateMedia({ colorScheme: "light" });
          await page.setViewportSize({ width: 390, height: 844 });
          await page.reload();
          await islandsReady(page);
          await screenshot(page, `${name}-phone`);
        }
        await page.close();
      });

      await t.step(
        "without JavaScript: filters, the create form (303 and 422) and actions still work",
        async () => {
          const page = await open("/jobs/new", { javaScript: false });
          assertEquals(
            await page.$$eval("script[type=module]", (s) => s.length),
            1,
            "the page still links its islands",
          );
          await page.fill('[name="to"]', "bad");
          await page.click("button:has-text('Create job')");
          await page.waitForSelector('[data-error-for="to"]');
          await screenshot(page, "new-job-nojs-422");
          await page.fill('[name="to"]', "nojs@example.com");
          await page.fill('[name="subject"]', "No JS");
          await page.fill('[name="body"]', "Plain form post");
          await Promise.all([
            page.waitForURL(UUID_PATH),
            page.click("button:has-text('Create job')"),
          ]);
          await page.goto(server.url + "/jobs?status=pending&q=nojs");
          assertEquals(await page.$$eval("tbody tr[data-job-id]", (r) => r.length), 1);
          await page.check("tbody input[type=checkbox]");
          await Promise.all([
            page.waitForURL(/bulk=cancel/),
            page.click("button[name=action][value=cancel]"),
          ]);
          await page.waitForSelector("#bulk-result:has-text('Cancelled 1 job')");
          await page.close();
        },
      );

      await t.step("no console errors, page errors or failed requests anywhere", () => {
        for (const p of pageProblems) {
          // Without JavaScript, Chromium still preloads the island modules and reports them blocked.
          const real = p.problems.filter((x) => p.javaScript || !/requestfailed: .*csp/i.test(x));
          all.push(...real.map((x) => `${p.path}: ${x}`));
        }
        assertEquals(all, []);
      });
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
