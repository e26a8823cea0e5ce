/**
 * `/alerts` in Chromium: a rule created with the form without JavaScript and
 * with it; once evaluated firing, the dashboard's banner appears live (a job
 * event re-renders the page) and links to /alerts. Screenshots of both
 * pages at desktop and phone widths.
 */
import type { Page } from "playwright-core";
import * as alerts from "../../lib/queue/alerts.ts";
import { islandsReady, openPage, screenshot } from "../_helpers/browser.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import type { ConsoleCheck } from "./mod.ts";

async function createRule(page: Page, url: string, fields: Record<string, string>) {
  await page.goto(`${url}/alerts`);
  await page.fill("#f-name", fields.name);
  await page.selectOption("#f-kind", fields.kind);
  if (fields.queue) await page.fill("#f-queue", fields.queue);
  if (fields.threshold) await page.fill("#f-threshold", fields.threshold);
  await page.click('[data-alert-form] button[type="submit"]');
  await page.waitForURL(/\/alerts\?done=created/);
}

const stateOf = (page: Page, name: string) =>
  page.locator("tr[data-alert]", { has: page.locator(`[data-name]:text-is("${name}")`) })
    .locator("[data-alert-state]").textContent();

export const alertsCheck: ConsoleCheck = {
  name: "alerts",
  async fn({ browser, server }) {
    const sql = server.db.sql;

    const plain = await openPage(browser, { javaScript: false });
    try {
      await createRule(plain.page, server.url, {
        name: "mail backlog",
        kind: "backlog",
        queue: "mail",
        threshold: "0",
      });
      assertEquals(await stateOf(plain.page, "mail backlog"), "ok");
      // A refused form comes back with the field's error, without JavaScript too.
      await plain.page.fill("#f-name", "bad");
      await plain.page.selectOption("#f-kind", "oldest_pending");
      await plain.page.click('[data-alert-form] button[type="submit"]');
      assert(
        /threshold is required/.test(
          await plain.page.textContent('[data-error="threshold"]') ?? "",
        ),
      );
      // With JavaScript off, Chromium refuses the island scripts (reported as "csp"): expected.
      assertEquals(plain.problems.filter((p) => !/\.js csp$/.test(p)), []);
    } finally {
      await plain.context.close();
    }

    const live = await openPage(browser);
    const phone = await openPage(browser, { width: 390, height: 844 });
    try {
      const { page, problems } = live;
      await createRule(page, server.url, {
        name: "nobody serves mail",
        kind: "no_worker",
        queue: "mail",
      });
      await islandsReady(page);
      assertEquals(await stateOf(page, "nobody serves mail"), "ok");

      await page.goto(server.url);
      await islandsReady(page);
      assertEquals(await page.locator("[data-firing]").count(), 0);
      const e = await alerts.evaluate(sql);
      assertEquals(e.transitions.map((x) => [x.alert.name, x.to]), [[
        "nobody serves mail",
        "firing",
      ]]);
      // A job event re-renders the live regions: the banner appears without a reload.
      const res = await page.evaluate(async () =>
        (await fetch("/api/jobs", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            type: "email",
            queue: "mail",
            payload: { to: "a@example.com", subject: "s", body: "b" },
          }),
        })).status
      );
      assertEquals(res, 201);
      await page.waitForSelector("[data-firing]");
      await alerts.evaluate(sql);
      await page.reload();
      await islandsReady(page);
      assert(/2 alerts firing/.test(await page.textContent("[data-firing]") ?? ""));
      await screenshot(page, "alerts-dashboard-desktop");
      await page.click('[data-firing] a[href="/alerts"]');
      await page.waitForURL(/\/alerts$/);
      assertEquals(await stateOf(page, "mail backlog"), "firing");
      assertEquals(await stateOf(page, "nobody serves mail"), "firing");
      await screenshot(page, "alerts-desktop");
      assertEquals(problems, []);

      await phone.page.goto(server.url);
      await phone.page.waitForSelector("[data-firing]");
      await screenshot(phone.page, "alerts-dashboard-phone");
      await phone.page.goto(`${server.url}/alerts`);
      await screenshot(phone.page, "alerts-phone");
      const overflow = await phone.page.evaluate(() =>
        document.documentElement.scrollWidth - document.documentElement.clientWidth
      );
      assertEquals(overflow, 0, "no sideways scrolling on a phone");
      assertEquals(phone.problems, []);
    } finally {
      await live.context.close();
      await phone.context.close();
    }
  },
};
