/**
 * `/health` in Chromium: every section rendered with and without
 * JavaScript; with it, a transaction opened elsewhere appears without a
 * reload (the live regions are swapped); screenshots at desktop and phone
 * width (`.data/screenshots/health-*.png`).
 */
import type { ConsoleCheck } from "./mod.ts";
import { islandsReady, openPage, screenshot } from "../_helpers/browser.ts";
import { openPool } from "../../lib/db.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

const SECTIONS = ["#overview", "#vacuum", "#tables", "#indexes", "#statements"];

export const healthCheck: ConsoleCheck = {
  name: "health page",
  async fn({ browser, server }) {
    // Without JavaScript: the server's render alone.
    {
      const { page, context, problems } = await openPage(browser, {
        javaScript: false,
        width: 390,
      });
      await page.goto(server.url + "/health");
      for (const s of SECTIONS) assert(await page.isVisible(s), `${s} without JavaScript`);
      assertEquals(await page.locator("#overview [data-figure]").count(), 6);
      assert(await page.isVisible('tr[data-table="job"] [data-cell="dead"] [data-level]'));
      assertEquals(await page.textContent('[data-island="LiveRegion"] span'), "Static");
      await screenshot(page, "health-phone-nojs");
      // With scripts off, Chromium refuses the module preloads (reason "csp"): not the page's fault.
      assertEquals(problems.filter((p) => !/static\/islands\/.* csp$/.test(p)), []);
      await context.close();
    }
    // With JavaScript: live; a transaction held open elsewhere shows up without a reload.
    const holderPool = openPool(server.db.url, { max: 1, name: "browser-holder" });
    try {
      for (const width of [1280, 390]) {
        const { page, context, problems } = await openPage(browser, { width });
        await page.goto(server.url + "/health");
        await islandsReady(page);
        for (const s of SECTIONS) assert(await page.isVisible(s), `${s} at ${width}`);
        // Wide tables scroll inside their cards; the page itself never scrolls sideways.
        assertEquals(await page.evaluate(() => document.documentElement.scrollWidth), width);
        if (width === 1280) {
          assertEquals(await page.locator("#vacuum [data-pid]").count(), 0);
          const holder = await holderPool.reserve();
          try {
            await holder`BEGIN`;
            const [{ pid }] = await holder<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
            // A job change makes the page refresh at once (it also polls every few seconds).
            await server.db.sql`SELECT pg_notify('jobq_changed', '')`;
            await page.waitForSelector(`#vacuum tr[data-pid="${pid}"]`);
            assert(
              (await page.textContent(`#vacuum tr[data-pid="${pid}"]`))!.includes("browser-holder"),
            );
            await screenshot(page, "health-desktop");
          } finally {
            await holder`ROLLBACK`;
            holder.release();
          }
        } else {
          await screenshot(page, "health-phone");
        }
        assertEquals(problems, []);
        await context.close();
      }
    } finally {
      await holderPool.end();
    }
  },
};
