/**
 * Actions on all matching jobs on /jobs in Chromium: "Retry all N" with N
 * from a dry run, the confirmation showing that count (a dialog with
 * JavaScript, the page's confirmation section without), then Undo within the
 * minute. Screenshots at desktop and phone width.
 */
import { jobs } from "../../lib/queue/mod.ts";
import { insertJob } from "../_helpers/factory.ts";
import { islandsReady, openPage, screenshot } from "../_helpers/browser.ts";
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import type { ConsoleCheck } from "./mod.ts";

export const bulkCheck: ConsoleCheck = {
  name: "bulk",
  async fn({ browser, server }) {
    const sql = server.db.sql;
    const failed = [];
    for (let i = 0; i < 30; i++) {
      failed.push(
        await insertJob(sql, {
          status: "failed",
          payload: { to: `u${i}@example.com`, subject: "Invoice", body: "b" },
        }),
      );
    }
    for (let i = 0; i < 5; i++) await insertJob(sql, { status: "pending" });
    const statusOf = async (id: string) => (await jobs.get(sql, { id }))!.status;

    // With JavaScript: the count comes from the dry run, the dialog names it, Undo puts it back.
    {
      const { page, context, problems } = await openPage(browser, { javaScript: true });
      const dialogs: string[] = [];
      page.on("dialog", (d) => (dialogs.push(d.message()), d.accept()));
      await page.goto(`${server.url}/jobs?status=failed`);
      await islandsReady(page);
      const retryAll = page.locator('[data-all-matching] a[data-action="retry"][data-count="30"]');
      await retryAll.waitFor();
      assertEquals((await retryAll.textContent())?.trim(), "Retry all 30");
      assertEquals(
        await page.getAttribute('[data-all-matching] a[data-action="cancel"]', "aria-disabled"),
        "true",
      );
      await screenshot(page, "bulk-list-desktop");
      await Promise.all([page.waitForSelector("#bulk-result"), retryAll.click()]);
      assertEquals(dialogs.length, 1);
      assertMatch(dialogs[0], /^Retry all 30 matching jobs\?/);
      assertMatch(await page.textContent("#bulk-result") ?? "", /Retried 30 jobs/);
      await islandsReady(page);
      assertMatch(await page.textContent("[data-undo-left]") ?? "", /^\d+ s left$/);
      assertEquals(await statusOf(failed[0].id), "pending");
      await screenshot(page, "bulk-undo-desktop");
      await page.setViewportSize({ width: 390, height: 844 });
      await screenshot(page, "bulk-undo-phone");
      await Promise.all([
        page.waitForSelector("#undo-result"),
        page.click("form[data-undo] button"),
      ]);
      assertMatch(
        await page.textContent("#undo-result") ?? "",
        /30 jobs put back as before the retry/,
      );
      assertEquals(await statusOf(failed[0].id), "failed");
      assertEquals(problems, []);
      await context.close();
    }

    // Without JavaScript: the link opens the confirmation with the dry run's count.
    for (const width of [1280, 390]) {
      const { page, context, problems } = await openPage(browser, { javaScript: false, width });
      const tag = width === 1280 ? "desktop" : "phone";
      await page.goto(`${server.url}/jobs?status=failed`);
      assertEquals(
        (await page.textContent('[data-all-matching] a[data-action="retry"]'))?.trim(),
        "Retry all…",
      );
      await Promise.all([
        page.waitForURL(/confirm=retry/),
        page.click('[data-all-matching] a[data-action="retry"]'),
      ]);
      assertEquals(await page.getAttribute("[data-confirm-count]", "data-confirm-count"), "30");
      assertMatch(await page.textContent("#bulk-confirm") ?? "", /Retry all 30 jobs/);
      assertEquals(await statusOf(failed[0].id), "failed");
      await screenshot(page, `bulk-confirm-nojs-${tag}`);
      await Promise.all([
        page.waitForURL(/bulk=retry/),
        page.click("#bulk-confirm button[type=submit]"),
      ]);
      assertMatch(await page.textContent("#bulk-result") ?? "", /Retried 30 jobs/);
      assert(await page.isVisible("form[data-undo] button"));
      await screenshot(page, `bulk-undo-nojs-${tag}`);
      await Promise.all([page.waitForURL(/undone=retry/), page.click("form[data-undo] button")]);
      assertMatch(await page.textContent("#undo-result") ?? "", /30 jobs put back/);
      assertEquals(await statusOf(failed[0].id), "failed");
      // With scripts off, Chromium refuses the islands' module preloads ("csp"): expected.
      assertEquals(problems.filter((p) => !/\/static\/islands\/\S+ csp$/.test(p)), []);
      await context.close();
    }
  },
};
