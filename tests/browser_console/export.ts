/**
 * The /jobs filter bar's "Export CSV" / "Export NDJSON" links: they carry the
 * list's current filters and order, and download the file, with and without
 * JavaScript, signed in with the dashboard password while API_TOKEN guards
 * the API (the session cookie lets the download through).
 */
import type { Page } from "playwright-core";
import { islandsReady, openPage, screenshot } from "../_helpers/browser.ts";
import { insertJob } from "../_helpers/factory.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import type { ConsoleCheck } from "./mod.ts";

const PASSWORD = "export-check-password";

async function signIn(page: Page, base: string, next: string): Promise<void> {
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === "/jobs"), page.click("form button")]);
}

/** Clicks a link and returns the download's file name and text. */
async function download(page: Page, name: string): Promise<{ file: string; text: string }> {
  const [dl] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name }).click(),
  ]);
  const path = await dl.path();
  return { file: dl.suggestedFilename(), text: await Deno.readTextFile(path!) };
}

export const exportCheck: ConsoleCheck = {
  name: "export",
  env: { DASHBOARD_PASSWORD: PASSWORD, API_TOKEN: "ci:export-check-token" },
  async fn({ browser, server }) {
    const sql = server.db.sql;
    const failed = [
      await insertJob(sql, { status: "failed", priority: 5, error: '=1+1, "quoted"' }),
      await insertJob(sql, { status: "failed", priority: 2, error: "plain" }),
    ];
    await insertJob(sql, { status: "completed", type: "notification", payload: { x: 1 } });
    await insertJob(sql, { status: "pending", priority: 4 });

    // With JavaScript: the links follow the filters, and the file holds exactly the filtered rows.
    {
      const { page, context, problems } = await openPage(browser);
      try {
        await signIn(page, server.url, "/jobs?status=failed&sort=priority&order=asc");
        await islandsReady(page);
        const csvLink = page.getByRole("link", { name: "Export CSV" });
        assertEquals(
          await csvLink.getAttribute("href"),
          "/api/jobs/export?format=csv&status=failed&sort=priority&order=asc",
        );
        const csv = await download(page, "Export CSV");
        assert(/^jobs-\d{8}T\d{6}Z\.csv$/.test(csv.file), csv.file);
        const lines = csv.text.split("\r\n");
        assert(lines[0].startsWith("id,type,status,queue,priority,"), lines[0]);
        assertEquals(lines.slice(1, -1).map((l) => l.slice(0, 36)), [failed[1].id, failed[0].id]);
        assert(csv.text.includes(`"'=1+1, ""quoted"""`), "formula guarded and quoted");
        await screenshot(page, "export-jobs-1280");

        // A filter changed in the bar (the island submits at once) moves the links along.
        await page.locator('[data-filter="priority"] summary').click();
        await Promise.all([
          page.waitForURL((u) => u.searchParams.getAll("priority").includes("5")),
          page.locator('input[name="priority"][value="5"]').check(),
        ]);
        await islandsReady(page);
        assertEquals(
          await page.getByRole("link", { name: "Export NDJSON" }).getAttribute("href"),
          "/api/jobs/export?format=ndjson&status=failed&priority=5&sort=priority&order=asc",
        );
        const nd = await download(page, "Export NDJSON");
        assert(/^jobs-\d{8}T\d{6}Z\.ndjson$/.test(nd.file), nd.file);
        const rows = nd.text.trimEnd().split("\n").map((l) => JSON.parse(l));
        assertEquals(rows.map((r) => r.id), [failed[0].id]);
        assertEquals(problems, []);
      } finally {
        await context.close();
      }
    }

    // Without JavaScript: the same links, rendered by the server; downloads need no script.
    {
      const { page, context, problems } = await openPage(browser, {
        javaScript: false,
        width: 390,
      });
      try {
        await signIn(page, server.url, "/jobs?type=notification");
        assertEquals(
          await page.getByRole("link", { name: "Export CSV" }).getAttribute("href"),
          "/api/jobs/export?format=csv&type=notification",
        );
        const csv = await download(page, "Export CSV");
        const lines = csv.text.split("\r\n").slice(1, -1);
        assertEquals(lines.length, 1);
        assert(lines[0].includes(",notification,completed,"), lines[0]);
        await screenshot(page, "export-jobs-390");
        // Chromium without JavaScript refuses the islands' module preloads ("csp"): expected.
        assertEquals(problems.filter((p) => !/\/static\/islands\/\S+ csp$/.test(p)), []);
      } finally {
        await context.close();
      }
    }
  },
};
