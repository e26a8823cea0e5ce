/**
 * In the browser: a running job's page follows its progress live (no
 * reload), and its Cancel button (confirmed) stops it; the job ends
 * cancelled and the page says so.
 */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { launchBrowser, openPage, startServer } from "./_helpers/browser.ts";
import { enqueue, testSupervisor } from "./_helpers/worker_sup.ts";
import * as jobs from "../lib/queue/jobs.ts";

const CANCEL_HANDLERS = new URL("./_helpers/cancel_handlers.ts", import.meta.url).href;

Deno.test({
  name: "browser: a running job's progress bar follows it live, and Cancel stops it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startServer();
    const browser = await launchBrowser();
    const { sql } = server.db;
    const { sup, dataDir } = await testSupervisor(server.db.url, {
      handlersModule: CANCEL_HANDLERS,
      concurrency: 1,
    });
    try {
      const job = await enqueue(sql, "progress_wait", { percent: 20 });
      const claimed = sup.waitFor("claimed", (e) => e.jobs.some((j) => j.id === job.id));
      await sql`SELECT pg_notify('jobq_new', '')`;
      await claimed;
      const until = Date.now() + 20_000;
      while ((await jobs.get(sql, { id: job.id }))?.progress === null) {
        assert(Date.now() < until, "the handler reported progress");
        await new Promise((r) => setTimeout(r, 25));
      }
      const { page, problems, context } = await openPage(browser);
      await page.goto(server.url + `/jobs/${job.id}`);
      await page.waitForSelector("[data-job-progress][data-ready]");
      const bar = "[data-job-progress] [role=progressbar]";
      assertEquals(await page.getAttribute(bar, "aria-valuenow"), "20");
      await page.waitForFunction(() =>
        document.querySelector("[data-updates]")?.textContent?.includes("Live")
      );
      // As the handler's runner does: store progress, then tell the dashboards.
      const [row] = await sql<{ attempts: number; locked_by: string }[]>`
        SELECT attempts, locked_by FROM job WHERE id = ${job.id}`;
      await jobs.setProgress(sql, {
        id: job.id,
        attempt: row.attempts,
        worker: row.locked_by,
        percent: 75,
        message: "almost",
      });
      await sql`SELECT pg_notify('jobq_changed', '')`;
      await page.waitForFunction(
        (sel) => document.querySelector(sel)?.getAttribute("aria-valuenow") === "75",
        bar,
      );
      assertEquals(await page.textContent("[data-progress-message]"), "almost");

      const cancelled = sup.waitFor("cancelled", (e) => e.job.id === job.id);
      page.once("dialog", (d) => d.accept());
      await Promise.all([
        page.waitForURL(/done=cancel_requested/),
        page.click("button:has-text('Cancel')"),
      ]);
      await cancelled;
      await page.waitForFunction(() => document.body.textContent?.includes("cancelled"));
      assertEquals((await jobs.get(sql, { id: job.id }))?.status, "cancelled");
      assertEquals(problems, []);
      await context.close();
    } finally {
      await sup.stop();
      await browser.close();
      await server.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
