/**
 * The /audit page in Chromium: actions done on the pages by the signed-in
 * user (a cancel on the job page, a queue paused, a job created from the
 * form) are its rows, newest first, naming who and from where; the filters
 * (action select, who, job id) live in the URL and work with and without
 * JavaScript. Screenshots at desktop and phone width.
 */
import type { Browser, Page } from "playwright-core";
import { jobs } from "../../lib/queue/mod.ts";
import { islandsReady, openPage, screenshot } from "../_helpers/browser.ts";
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import type { ConsoleCheck } from "./mod.ts";

const PASSWORD = "audit-check-password";
const EMAIL = { to: "ada@example.com", subject: "Hello", body: "Hi Ada" };

async function signedIn(browser: Browser, url: string, javaScript: boolean) {
  const opened = await openPage(browser, { javaScript });
  const { page } = opened;
  await page.goto(`${url}/login`);
  await page.fill("#password", PASSWORD);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith("/login")),
    page.click("button[type=submit]"),
  ]);
  return opened;
}

const rows = (page: Page) => page.$$eval("tr[data-audit]", (r) => r.length);
const actions = (page: Page) =>
  page.$$eval("tr[data-audit] [data-action]", (r) => r.map((e) => e.textContent?.trim()));

export const auditCheck: ConsoleCheck = {
  name: "audit",
  env: { DASHBOARD_PASSWORD: PASSWORD },
  async fn({ browser, server }) {
    const sql = server.db.sql;
    const job = await jobs.enqueue(sql, { job: { type: "email", payload: EMAIL, queue: "mail" } });

    // With JavaScript: cancel on the job page, pause a queue, then read the log.
    const { page, context, problems } = await signedIn(browser, server.url, true);
    page.on("dialog", (d) => d.accept());
    await page.goto(`${server.url}/jobs/${job.id}`);
    await islandsReady(page);
    await Promise.all([
      page.waitForURL(/done=cancelled/),
      page.click("form input[name=action][value=cancel] ~ button"),
    ]);
    await page.goto(`${server.url}/queues`);
    await Promise.all([
      page.waitForURL(/done=paused/),
      page.click('tr[data-queue="mail"] button[name=action][value=pause]'),
    ]);
    await page.click('nav a[href="/audit"]');
    await page.waitForURL(/\/audit$/);
    await islandsReady(page);
    assertEquals(await actions(page), ["queue.pause", "job.cancel"]);
    const first = await page.textContent("tr[data-audit]");
    assertMatch(first ?? "", /admin/);
    assertMatch(first ?? "", /dashboard from 127\.0\.0\.1/);
    assertMatch(
      await page.textContent("tr[data-audit] [data-details]") ?? "",
      /paused: false → true/,
    );
    await screenshot(page, "audit-desktop");

    await page.selectOption("#a-action", "job.cancel");
    await Promise.all([
      page.waitForURL(/action=job\.cancel/),
      page.click('form[action="/audit"] button[type=submit]'),
    ]);
    assertEquals(await actions(page), ["job.cancel"]);
    await Promise.all([
      page.waitForURL(new RegExp(`/jobs/${job.id}$`)),
      page.click(`tr[data-audit] a[href="/jobs/${job.id}"]`),
    ]);
    assertMatch(
      await page.textContent('li[data-event="cancelled"]') ?? "",
      /cancelled by hand by admin \(dashboard\) from 127\.0\.0\.1/,
    );
    await page.click(`a[href="/audit?job=${job.id}"]`);
    await page.waitForURL(/\/audit\?job=/);
    assertEquals(await rows(page), 1);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/audit`);
    await islandsReady(page);
    await screenshot(page, "audit-phone");
    assertEquals(problems, []);
    await context.close();

    // Without JavaScript: create a job from the form, then filter by who and by job id.
    const nojs = await signedIn(browser, server.url, false);
    const p = nojs.page;
    await p.goto(`${server.url}/jobs/new?type=email`);
    await p.fill('[name="to"]', "nojs@example.com");
    await p.fill('[name="subject"]', "No JS");
    await p.fill('[name="body"]', "Plain form post");
    await Promise.all([p.waitForURL(/done=created/), p.click("button:has-text('Create job')")]);
    const created = new URL(p.url()).pathname.split("/").pop()!;
    await p.goto(`${server.url}/audit`);
    assertEquals(await actions(p), ["job.create", "queue.pause", "job.cancel"]);
    await p.fill("#a-actor", "admin");
    await p.fill("#a-job", created);
    await Promise.all([p.waitForURL(/job=/), p.click('form[action="/audit"] button[type=submit]')]);
    assert(p.url().includes("actor=admin"), p.url());
    assertEquals(await actions(p), ["job.create"]);
    assert(await p.$(`tr[data-audit] a[href="/jobs/${created}"]`), "the job is linked");
    await p.fill("#a-actor", "somebody-else");
    await Promise.all([
      p.waitForURL(/actor=somebody-else/),
      p.click('form[action="/audit"] button[type=submit]'),
    ]);
    assertEquals(await rows(p), 0);
    assertMatch(await p.textContent("main") ?? "", /No entry matches these filters/);
    await p.click("a:has-text('Clear')");
    await p.waitForURL(/\/audit$/);
    assertEquals(await rows(p), 3);
    await p.setViewportSize({ width: 390, height: 844 });
    await p.reload();
    await screenshot(p, "audit-phone-nojs");
    // Without JavaScript Chromium refuses the island scripts ("csp"); nothing else may fail.
    assertEquals(nojs.problems.filter((x) => !/\/static\/islands\/.* csp$/.test(x)), []);
    await nojs.context.close();
  },
};
