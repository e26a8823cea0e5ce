/**
 * The `/schedules` pages: without JavaScript (server-rendered, forms post
 * urlencoded, 303 / 422 with every field's error, cross-site posts refused)
 * and in Chromium (live; screenshot to /tmp/schedules.png).
 */
import { openApp } from "./_helpers/app.ts";
import { $, $$, parse, text } from "./_helpers/html.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_helpers/assert.ts";
import { islandsReady, launchBrowser, openPage, startServer } from "./_helpers/browser.ts";
import { applyFile, create } from "../lib/queue/schedules.ts";
import { createScheduleBody } from "../lib/schedules/schema.ts";

const EMAIL = { to: "ops@example.com", subject: "Daily", body: "hello" };
const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields).toString(),
  redirect: "manual" as const,
});
const valid = {
  name: "morning-mail",
  cron: "0 7 * * 1-5",
  timezone: "Europe/Berlin",
  type: "email",
  payload: JSON.stringify(EMAIL),
  priority: "4",
  queue: "",
  max_attempts: "3",
  enabled: "on",
};

Deno.test({
  name: "schedules page without JavaScript: list, create (303 / 422), run now, disable, " +
    "file schedules read-only, cross-site refused",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const app = await openApp();
    const get = async (path: string) => {
      const res = await app.call(path);
      assertEquals(res.status, 200, path);
      return parse(await res.text());
    };
    try {
      await t.step("the page is in the nav and says when there is nothing", async () => {
        const doc = await get("/schedules");
        assert($$(doc, 'nav a[href="/schedules"]').length > 0, "nav link");
        assertStringIncludes(text($(doc, "main")), "No schedules yet");
      });

      await t.step("an invalid form is 422 with every field's error, nothing stored", async () => {
        const res = await app.call(
          "/schedules",
          form({
            ...valid,
            name: "Bad Name",
            cron: "* * * * * *",
            timezone: "Mars/Base",
            payload: JSON.stringify({ to: "nope" }),
            priority: "9",
          }),
        );
        assertEquals(res.status, 422);
        const doc = parse(await res.text());
        const errs = Object.fromEntries(
          $$(doc, "[data-error]").map((e) => [e.getAttribute("data-error"), text(e)]),
        );
        assertEquals(Object.keys(errs).sort(), ["cron", "name", "payload", "priority", "timezone"]);
        assertStringIncludes(errs.payload, "to: to must be an email address");
        assertStringIncludes(errs.payload, "subject:");
        // The form keeps what was typed.
        assertEquals($(doc, "#f-name").getAttribute("value"), "Bad Name");
        const [{ n }] = await app.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM schedule`;
        assertEquals(n, 0);
        const notJson = await app.call("/schedules", form({ ...valid, payload: "{oops" }));
        assertEquals(notJson.status, 422);
      });

      await t.step("a valid form is 303 to the schedule's page", async () => {
        const res = await app.call("/schedules", form(valid));
        assertEquals(res.status, 303);
        assertEquals(res.headers.get("location"), "/schedules/morning-mail?done=created");
        const doc = await get("/schedules/morning-mail?done=created");
        assertStringIncludes(text($(doc, "[role=status]")), "Schedule created");
        const list = await get("/schedules");
        const row = $(list, '[data-schedule="morning-mail"]');
        assertStringIncludes(text(row), "0 7 * * 1-5");
        assertStringIncludes(text(row), "Europe/Berlin");
        const next = $(row, "[data-next-run] time");
        assertMatch(text(next), /^in \d+ (min|h|d)$/);
        assertMatch(next.getAttribute("title") ?? "", /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
        const again = await app.call("/schedules", form(valid));
        assertEquals(again.status, 409);
      });

      await t.step("run now: 303 back with a link to the new job; last job shown", async () => {
        const res = await app.call(
          "/schedules/morning-mail",
          form({ action: "run", back: "list" }),
        );
        assertEquals(res.status, 303);
        const loc = res.headers.get("location") ?? "";
        assertMatch(loc, /^\/schedules\?done=run&job=[0-9a-f-]{36}$/);
        const job = loc.split("job=")[1];
        const doc = await get(loc);
        assert($$(doc, `[role=status] a[href="/jobs/${job}"]`).length === 1, "banner link");
        assert($$(doc, `[data-schedule="morning-mail"] a[href="/jobs/${job}"]`).length === 1);
      });

      await t.step("disable / enable; edit saves, a bad edit is 422", async () => {
        let res = await app.call("/schedules/morning-mail", form({ action: "disable" }));
        assertEquals(res.status, 303);
        let doc = await get("/schedules");
        assertEquals(text($(doc, '[data-schedule="morning-mail"] [data-next-run]')), "disabled");
        res = await app.call("/schedules/morning-mail", form({ action: "enable" }));
        assertEquals(res.status, 303);
        res = await app.call(
          "/schedules/morning-mail",
          form({ ...valid, action: "save", cron: "@hourly", type: "report" }),
        );
        assertEquals(res.status, 422);
        doc = parse(await res.text());
        assertStringIncludes(text($(doc, '[data-error="payload"]')), "report_type:");
        res = await app.call(
          "/schedules/morning-mail",
          form({ ...valid, action: "save", cron: "@hourly" }),
        );
        assertEquals(res.status, 303);
        doc = await get("/schedules/morning-mail");
        assertStringIncludes(text($(doc, "main")), "@hourly");
        assertEquals((await app.call("/schedules/nope")).status, 404);
      });

      await t.step("a file schedule: read-only form, enable/disable allowed", async () => {
        await applyFile(app.db.sql, {
          schedules: [createScheduleBody.parse({
            name: "from-file",
            cron: "@daily",
            type: "email",
            payload: EMAIL,
          })],
        });
        const doc = await get("/schedules/from-file");
        assert($(doc, "form fieldset").hasAttribute("disabled"), "read-only");
        assertStringIncludes(text($(doc, "main")), "declared in the schedules file");
        let res = await app.call(
          "/schedules/from-file",
          form({ ...valid, action: "save", cron: "@hourly" }),
        );
        assertEquals(res.status, 409);
        res = await app.call("/schedules/from-file", form({ action: "disable" }));
        assertEquals(res.status, 303);
      });

      await t.step("cross-site posts are refused and change nothing", async () => {
        const before = await app.db.sql`SELECT * FROM schedule ORDER BY name`;
        const hostile: Record<string, string>[] = [
          { origin: "https://evil.example" },
          { "sec-fetch-site": "cross-site" },
        ];
        for (const headers of hostile) {
          assertEquals(
            (await app.call("/schedules", form({ ...valid, name: "evil" }, headers))).status,
            403,
          );
          assertEquals(
            (await app.call("/schedules/morning-mail", form({ action: "delete" }, headers))).status,
            403,
          );
        }
        assertEquals(await app.db.sql`SELECT * FROM schedule ORDER BY name`, before);
      });
    } finally {
      await app.close();
    }
  },
});

Deno.test({
  name: "schedules page in Chromium: live, next run in words, run now; screenshot",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startServer();
    const browser = await launchBrowser();
    try {
      const { sql } = server.db;
      for (
        const [name, cron, tz] of [
          ["every-five", "*/5 * * * *", "UTC"],
          ["berlin-morning", "30 7 * * 1-5", "Europe/Berlin"],
          ["monthly-report", "@monthly", "UTC"],
        ]
      ) {
        await create(sql, {
          schedule: createScheduleBody.parse({
            name,
            cron,
            timezone: tz,
            type: "email",
            payload: EMAIL,
          }),
        });
      }
      const { page, context, problems } = await openPage(browser);
      await page.goto(server.url + "/schedules");
      await islandsReady(page);
      const next = await page.locator('[data-schedule="every-five"] [data-next-run] time')
        .textContent();
      assertMatch(next ?? "", /^(in \d+ (s|min)|just now)$/);
      await page.locator('[data-schedule="every-five"] button[value="run"]').click();
      await page.waitForURL(/done=run/);
      await page.locator('[role=status] a[href^="/jobs/"]').waitFor();
      // Disable one, so the screenshot shows both states.
      await page.locator('[data-schedule="monthly-report"] button[value="disable"]').click();
      await page.waitForURL(/done=disabled/);
      await islandsReady(page);
      await page.screenshot({ path: "/tmp/schedules.png", fullPage: true });
      // The edit form: a bad change is 422 with the errors next to the fields.
      await page.locator('a[href="/schedules/berlin-morning"]').click();
      await page.waitForURL(/\/schedules\/berlin-morning$/);
      await page.fill("#f-cron", "0 8 * * *");
      await page.fill("#f-timezone", "Europe/Nowhere");
      await page.fill("#f-payload", '{"to": "nope"}');
      await page.locator('button[type=submit]:has-text("Save changes")').click();
      await page.locator('[data-error="timezone"]').waitFor();
      assertEquals(await page.inputValue("#f-cron"), "0 8 * * *");
      await page.screenshot({ path: "/tmp/schedules_edit.png", fullPage: true });
      assertEquals(problems, []);
      await context.close();
      const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
      assertEquals(n, 1);
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
