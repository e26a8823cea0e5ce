/**
 * Dashboard fixes in Chromium against a real server: the live jobs list
 * (in place, keeping selection, scroll and an open filter), the live queue
 * total, the bulk banner on reload, the JSON viewer's arrow, the phone
 * layout, the dark Delete button's contrast, a job page's live reload
 * keeping what was collapsed and the scroll, and relative times that age.
 * Screenshots (desktop and phone, light and dark) go to `.data/screenshots/`.
 */
import { insertJob } from "./_helpers/factory.ts";
import {
  islandsReady,
  launchBrowser,
  openPage,
  screenshot,
  startServer,
} from "./_helpers/browser.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";

/** WCAG contrast ratio of two `rgb(…)` colours as computed styles give them. */
function contrast(a: string, b: string): number {
  const lum = (css: string) => {
    const [r, g, bl] = css.match(/[\d.]+/g)!.slice(0, 3).map((x) => {
      const c = Number(x) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

Deno.test({
  name: "browser: live jobs list, pagination and the small dashboard fixes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const server = await startServer();
    const browser = await launchBrowser();
    const { sql } = server.db;
    const problems: string[] = [];
    const open = async (path: string, opts: Parameters<typeof openPage>[1] = {}) => {
      const o = await openPage(browser, opts);
      o.page.on("dialog", (d) => void d.accept());
      await o.page.goto(server.url + path);
      await islandsReady(o.page);
      return { ...o, done: async () => (problems.push(...o.problems), await o.context.close()) };
    };
    const notify = () => sql.notify("jobq_changed", "");
    const createViaApi = async (to: string) => {
      const res = await fetch(server.url + "/api/jobs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "email", payload: { to, subject: "Live", body: "now" } }),
      });
      assertEquals(res.status, 201, await res.text());
    };
    try {
      const t0 = Date.now() - 3_600_000;
      const ids: string[] = [];
      for (let i = 0; i < 60; i++) {
        const j = await insertJob(sql, {
          status: i % 4 === 0 ? "failed" : "pending",
          payload: { to: `row${i}@example.com`, subject: `Row ${i}`, body: "b" },
          created_at: new Date(t0 + i * 1000),
        });
        ids.unshift(j.id);
      }

      await t.step(
        "the jobs list updates in place, keeping the selection, the scroll and an open filter",
        async () => {
          const { page, done } = await open("/jobs?size=50", { height: 600 });
          await page.waitForSelector("[data-island=LiveRegion] :text('Live')", { timeout: 10_000 });
          await page.evaluate(() => ((globalThis as unknown as { same: boolean }).same = true));
          const picked = ids[4];
          await page.check(`tr[data-job-id="${picked}"] input[type=checkbox]`);
          await page.click('[data-filter="status"] summary');
          await page.evaluate(() => scrollTo(0, 300));
          await createViaApi("live-list@example.com");
          await page.waitForSelector("tbody tr:first-child :text('live-list@example.com')", {
            timeout: 10_000,
          });
          await sql`UPDATE job SET status = 'cancelled', updated_at = now() WHERE id = ${picked}`;
          await notify();
          await page.waitForSelector(`tr[data-job-id="${picked}"] :text('cancelled')`, {
            timeout: 10_000,
          });
          const state = await page.evaluate((id) => ({
            same: (globalThis as unknown as { same?: boolean }).same === true,
            checked: document.querySelector<HTMLInputElement>(
              `tr[data-job-id="${id}"] input[type=checkbox]`,
            )?.checked,
            filterOpen: document.querySelector<HTMLDetailsElement>('[data-filter="status"]')
              ?.open,
            scrollY: scrollY,
            selection: document.querySelector("[data-selection]")?.textContent,
            total: document.querySelector("main h1 + p")?.textContent,
          }), picked);
          assertEquals(state, {
            same: true,
            checked: true,
            filterOpen: true,
            scrollY: 300,
            selection: "1 selected",
            total: "61 in total",
          });
          await done();
        },
      );

      await t.step("the dashboard's queue total changes live", async () => {
        const { page, done } = await open("/");
        await page.waitForSelector("[data-island=LiveRegion] :text('Live')", { timeout: 10_000 });
        const read = async () => (await page.textContent("main h1 + p"))!;
        const before = Number((await read()).match(/[\d,]+/)![0].replace(/,/g, ""));
        await createViaApi("live-total@example.com");
        await page.waitForFunction(
          (n) =>
            document.querySelector("main h1 + p")?.textContent === `${n} jobs in the queue table`,
          before + 1,
          { timeout: 10_000 },
        );
        await done();
      });

      await t.step("the bulk result banner does not come back on reload", async () => {
        const { page, done } = await open("/jobs?status=pending&size=10");
        await page.check("tbody tr:first-child input[type=checkbox]");
        await page.click("button[name=action][value=cancel]");
        await page.waitForSelector("#bulk-result:has-text('Cancelled 1 job')");
        await islandsReady(page);
        await page.waitForFunction(() => !location.search.includes("bulk="), null, {
          timeout: 5_000,
        });
        await page.reload();
        await islandsReady(page);
        assertEquals(await page.$$eval("#bulk-result", (x) => x.length), 0);
        assertEquals(new URL(page.url()).search, "?status=pending&size=10");
        await done();
      });

      const completed = await insertJob(sql, {
        status: "completed",
        result: { delivered: true, meta: { tries: [1, 2], note: "ok" } },
      });

      await t.step("the JSON viewer's arrow turns when a node is open", async () => {
        const { page, done } = await open(`/jobs/${completed.id}`);
        const arrow = "[data-json-viewer=Result] details[data-json-node] > summary > span";
        // The arrow turns with a transition: wait for where it settles.
        const settles = (open: boolean) =>
          page.waitForFunction(
            ([sel, open]) => {
              const t = getComputedStyle(document.querySelector(sel as string)!).transform;
              return open ? /^matrix\([^,]+, 1, -1, /.test(t) : t === "none";
            },
            [arrow, open],
            { timeout: 5_000 },
          );
        await settles(true);
        await page.click("[data-json-viewer=Result] button:has-text('Collapse all')");
        await settles(false);
        await done();
      });

      await t.step(
        "phone: every filter's menu fits 390 px and 'New job' is reachable",
        async () => {
          const { page, done } = await open("/jobs", { width: 390, height: 844 });
          for (const f of ["status", "type", "priority"]) {
            await page.click(`[data-filter="${f}"] summary`);
            const box = (await page.locator(`[data-filter="${f}"] fieldset`).boundingBox())!;
            assert(box.x >= 0 && box.x + box.width <= 390, `${f}: ${JSON.stringify(box)}`);
            await page.keyboard.press("Escape");
          }
          assert(await page.evaluate(() => document.documentElement.scrollWidth <= 390));
          assert(await page.locator("header a[href='/jobs/new']").isVisible(), "New job on phones");
          await done();
        },
      );

      await t.step("the Delete button has at least 4.5:1 contrast in light and dark", async () => {
        for (const colorScheme of ["light", "dark"] as const) {
          const { page, done } = await open(`/jobs/${completed.id}`, { colorScheme });
          const [bg, fg] = await page.$eval(
            "button:has-text('Delete')",
            (el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color],
          );
          const ratio = contrast(bg, fg);
          assert(ratio >= 4.5, `${colorScheme}: ${bg} on ${fg} is ${ratio.toFixed(2)}:1`);
          await done();
        }
      });

      await t.step(
        "a job page's live reload keeps collapsed JSON and the scroll position",
        async () => {
          const running = await insertJob(sql, {
            status: "processing",
            payload: {
              to: "reload@example.com",
              subject: "Reload",
              body: "x".repeat(3000),
              meta: { a: { b: { c: 1 } }, list: [1, 2, 3] },
            },
          });
          const { page, done } = await open(`/jobs/${running.id}`, { height: 500 });
          await page.waitForSelector("[data-island=LiveRegion] :text('Live')", { timeout: 10_000 });
          const meta = "[data-json-viewer=Payload] details[data-json-node] details[data-json-node]";
          await page.click(`${meta} > summary`);
          assertEquals(await page.$eval(meta, (d) => (d as HTMLDetailsElement).open), false);
          // Not to the bottom: the finished page is shorter (no progress card), and its end moves up.
          const scrolled = await page.evaluate(() => (scrollTo(0, 120), scrollY));
          assert(scrolled > 0, "the page scrolls");
          await sql`
            UPDATE job SET status = 'completed', completed_at = now(), updated_at = now(),
              locked_by = NULL, locked_until = NULL, result = '{"ok": true}'
            WHERE id = ${running.id}`;
          await notify();
          await page.waitForSelector("[data-json-viewer=Result]", { timeout: 10_000 });
          await islandsReady(page);
          assertEquals(await page.$eval(meta, (d) => (d as HTMLDetailsElement).open), false);
          assertEquals(await page.evaluate(() => scrollY), scrolled);
          await done();
        },
      );

      await t.step(
        "a live reload does not cancel an action's navigation (its banner shows)",
        async () => {
          const job = await insertJob(sql, { status: "failed" });
          const { page, done } = await open(`/jobs/${job.id}`);
          await page.waitForSelector("[data-island=LiveRegion] :text('Live')", { timeout: 10_000 });
          // Hold the Retry POST until the job has changed and the page was told so: a
          // live reload in that window would start a new navigation and drop the POST's.
          let changed!: () => void;
          const told = new Promise<void>((r) => changed = r);
          await page.route(`**/jobs/${job.id}`, async (route) => {
            if (route.request().method() !== "POST") return route.continue();
            await sql`UPDATE job SET updated_at = now() WHERE id = ${job.id}`;
            await notify();
            await told;
            await route.continue();
          });
          const seen = page.waitForResponse((r) => r.url().endsWith(`/api/jobs/${job.id}`));
          const navigated = page.waitForURL(/done=retried/, { timeout: 15_000 });
          // The click waits for the navigation it starts, which the route holds.
          const clicked = page.click("button:has-text('Retry')");
          await Promise.race([seen, new Promise((r) => setTimeout(r, 3_000))]);
          changed();
          await Promise.all([clicked, navigated]);
          assert(await page.isVisible("[role=status]:has-text('queued again')"), "banner shown");
          await page.unroute(`**/jobs/${job.id}`);
          await done();
        },
      );

      await t.step("relative times age in the page without a reload", async () => {
        const o = await openPage(browser);
        const page = o.page;
        await page.clock.install();
        await page.goto(server.url + "/jobs?size=10");
        await islandsReady(page);
        const first = "tbody tr:first-child td:nth-child(7) time";
        const before = await page.textContent(first);
        await page.clock.fastForward("05:00");
        await page.waitForFunction(
          ([sel, old]) => document.querySelector(sel!)?.textContent !== old,
          [first, before],
          { timeout: 5_000 },
        );
        problems.push(...o.problems);
        await o.context.close();
      });

      await t.step("screenshots: desktop and phone, light and dark", async () => {
        const { page, done } = await open("/jobs?size=10&page=3");
        for (const colorScheme of ["light", "dark"] as const) {
          for (const width of [1280, 390]) {
            await page.emulateMedia({ colorScheme });
            await page.setViewportSize({ width, height: width > 400 ? 860 : 844 });
            for (
              const [path, name] of [
                ["/jobs?size=10&page=3", "fixes-jobs"],
                ["/jobs?page=999", "fixes-jobs-out-of-range"],
                ["/", "fixes-dashboard"],
                [`/jobs/${completed.id}`, "fixes-job"],
              ]
            ) {
              await page.goto(server.url + path);
              await islandsReady(page);
              await screenshot(page, `${name}-${width}-${colorScheme}`);
            }
          }
        }
        await done();
      });

      await t.step("no console errors, page errors or failed requests", () => {
        assertEquals(problems, []);
      });
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
