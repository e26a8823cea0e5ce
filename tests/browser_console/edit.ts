/**
 * Edit and retry in Chromium: from a failed job's page to the prefilled form,
 * a field changed, the same job pending with the new payload and its timeline
 * holding the old one; with JavaScript (the form checks fields as on
 * /jobs/new) and without (the server's 422 and 303); desktop and phone.
 */
import type { Page } from "playwright-core";
import type { Sql } from "../../lib/db.ts";
import { jobs } from "../../lib/queue/mod.ts";
import { islandsReady, openPage, screenshot } from "../_helpers/browser.ts";
import { insertJob } from "../_helpers/factory.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import type { ConsoleCheck } from "./mod.ts";

const P0 = { to: "ada@example.com", subject: "Welcome", body: "Hello Ada" };
const SUBMIT = "button:has-text('Retry with these values')";

async function state(sql: Sql, id: string) {
  const j = await jobs.get(sql, { id });
  return { status: j?.status, payload: j?.payload, priority: j?.priority };
}

/** Opens the job's page, follows "Edit and retry" and waits for the form. */
async function toForm(page: Page, base: string, id: string, js: boolean) {
  await page.goto(`${base}/jobs/${id}`);
  if (js) await islandsReady(page);
  await Promise.all([page.waitForURL(/\/edit$/), page.click("a[data-action=edit]")]);
  if (js) await islandsReady(page);
  await page.waitForSelector("form[aria-label='Edit and retry a job']");
}

export const editCheck: ConsoleCheck = {
  name: "edit and retry",
  async fn({ browser, server }) {
    const { sql } = server.db;
    const problems: (() => string[])[] = [];
    const open = async (opts: Parameters<typeof openPage>[1]) => {
      const o = await openPage(browser, opts);
      // With JavaScript off, Chromium refuses the island modules the page links (reported
      // as "csp"): expected there, and nothing else may fail.
      const expected = (p: string) =>
        opts?.javaScript === false && /^requestfailed: \S+\/static\/islands\/\S+ csp$/.test(p);
      problems.push(() => o.problems.filter((p) => !expected(p)));
      o.page.on("dialog", (d) => d.accept());
      return o;
    };

    // With JavaScript: the island refuses a bad field before any request, then submits.
    const a = await insertJob(sql, {
      status: "failed",
      payload: P0,
      error: "SMTP 550: no such user",
    });
    const js = await open({ width: 1280 });
    await js.page.goto(`${server.url}/jobs/${a.id}`);
    await islandsReady(js.page);
    await screenshot(js.page, "edit-failed-job");
    await toForm(js.page, server.url, a.id, true);
    assertEquals(await js.page.inputValue("[name=subject]"), P0.subject, "prefilled");
    assert(await js.page.isDisabled("#f-type"), "the type is fixed");
    await js.page.fill("[name=subject]", "");
    await js.page.click(SUBMIT);
    await js.page.waitForSelector("[data-error-for=subject]");
    assertMatch(js.page.url(), /\/edit$/);
    await screenshot(js.page, "edit-form-invalid");
    assertEquals((await state(sql, a.id)).status, "failed");
    await js.page.fill("[name=subject]", "Welcome back");
    await Promise.all([js.page.waitForURL(/done=edited/), js.page.click(SUBMIT)]);
    assertEquals(await state(sql, a.id), {
      status: "pending",
      payload: { ...P0, subject: "Welcome back" },
      priority: 3,
    });
    assertEquals((await jobs.list(sql, {})).total, 1, "the same job, no new one");
    await islandsReady(js.page);
    await js.page.click("[data-event=edited] details summary");
    const before = await js.page.textContent("[data-event=edited] details pre");
    assertEquals(JSON.parse(before ?? "").payload, P0);
    await screenshot(js.page, "edit-job-edited");

    // Without JavaScript: the server answers 422 with the form, then 303.
    const b = await insertJob(sql, { status: "cancelled", payload: P0 });
    const plain = await open({ width: 1280, javaScript: false });
    await toForm(plain.page, server.url, b.id, false);
    await plain.page.fill("[name=to]", "not an address");
    await plain.page.click(SUBMIT);
    await plain.page.waitForSelector("[data-error-for=to]");
    assertStringIncludes(await plain.page.textContent("[data-error-for=to]") ?? "", "To");
    assertEquals(await plain.page.inputValue("[name=to]"), "not an address", "kept as typed");
    await screenshot(plain.page, "edit-form-nojs-422");
    assertEquals((await state(sql, b.id)).status, "cancelled");
    await plain.page.fill("[name=to]", "ada@example.org");
    await plain.page.selectOption("[name=priority]", "5");
    await Promise.all([plain.page.waitForURL(/done=edited/), plain.page.click(SUBMIT)]);
    assertEquals(await state(sql, b.id), {
      status: "pending",
      payload: { ...P0, to: "ada@example.org" },
      priority: 5,
    });
    await plain.context.close();

    // A phone: the form and the edited job's page.
    const c = await insertJob(sql, { status: "failed", payload: P0 });
    const phone = js;
    await phone.page.setViewportSize({ width: 390, height: 844 });
    await toForm(phone.page, server.url, c.id, true);
    await screenshot(phone.page, "edit-form-phone");
    await phone.page.fill("[name=body]", "Hello again, Ada");
    await Promise.all([phone.page.waitForURL(/done=edited/), phone.page.click(SUBMIT)]);
    await islandsReady(phone.page);
    await phone.page.click("[data-event=edited] details summary");
    await screenshot(phone.page, "edit-job-edited-phone");
    assertEquals((await state(sql, c.id)).payload, { ...P0, body: "Hello again, Ada" });
    await phone.context.close();

    assertEquals(problems.flatMap((p) => p()), []);
  },
};
