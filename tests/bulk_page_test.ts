/** The /jobs page's actions on all matching jobs without JavaScript: confirm with the dry run's count, then Undo. */
import { audit, jobs } from "../lib/queue/mod.ts";
import { withApp } from "./_helpers/app.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assert, assertEquals, assertStringIncludes } from "./_helpers/assert.ts";
import { $, parse, text } from "./_helpers/html.ts";

const BASE = "http://localhost";
const ORIGIN = { origin: BASE, "sec-fetch-site": "same-origin" };

function post(fields: Record<string, string>): RequestInit {
  return { method: "POST", body: new URLSearchParams(fields), headers: ORIGIN, redirect: "manual" };
}

Deno.test("/jobs: retry all matching → confirm with the count → done → Undo", async () => {
  await withApp(
    async ({ db, call }) => {
      const failed = [];
      for (let i = 0; i < 3; i++) failed.push(await insertJob(db.sql, { status: "failed" }));
      await insertJob(db.sql, { status: "failed", type: "notification", payload: {} });
      await insertJob(db.sql, { status: "completed" });
      const page = async (path: string) => parse(await (await call(path)).text());

      // The bar links to the confirmation; the confirmation shows the dry run's count, changes nothing.
      const list = await page("/jobs?status=failed&type=email");
      const link = $(list, '[data-all-matching] a[data-action="retry"]');
      assertEquals(link.getAttribute("href"), "/jobs?status=failed&type=email&confirm=retry");
      const confirm = await page(link.getAttribute("href")!);
      const box = $(confirm, "#bulk-confirm");
      assertEquals(
        box.querySelector("[data-confirm-count]")!.getAttribute("data-confirm-count"),
        "3",
      );
      assertStringIncludes(text(box), "Retry all 3 jobs");
      assertStringIncludes(text(box), "status failed · type email");
      assertEquals((await jobs.get(db.sql, { id: failed[0].id }))!.status, "failed");
      const form = box.querySelector("form")!;
      const fields = Object.fromEntries(
        [...form.querySelectorAll("input")].map((
          i,
        ) => [i.getAttribute("name")!, i.getAttribute("value")!]),
      );
      assertEquals(fields, {
        action: "retry",
        scope: "all",
        back: "/jobs?status=failed&type=email",
      });

      // Confirm: 303 with the outcome and the undo offer.
      const res = await call("/jobs", post(fields));
      assertEquals(res.status, 303);
      const where = new URL(res.headers.get("location")!, BASE);
      assertEquals([where.searchParams.get("bulk"), where.searchParams.get("done")], [
        "retry",
        "3",
      ]);
      for (const j of failed) {
        assertEquals((await jobs.get(db.sql, { id: j.id }))!.status, "pending");
      }
      const done = await page(where.pathname + where.search);
      assertStringIncludes(text($(done, "#bulk-result")), "Retried 3 jobs");
      const undoForm = $(done, "#bulk-result form[data-undo]");
      const undoFields = Object.fromEntries(
        [...undoForm.querySelectorAll("input")].map((i) => [
          i.getAttribute("name")!,
          i.getAttribute("value")!,
        ]),
      );
      assertEquals(undoFields.action, "undo");
      assertEquals(undoFields.undo, where.searchParams.get("undo"));

      // Undo: back to failed; the page says so.
      const u = await call("/jobs", post(undoFields));
      assertEquals(u.status, 303);
      const back = new URL(u.headers.get("location")!, BASE);
      assertEquals(back.searchParams.get("undone"), "retry");
      assertEquals(back.searchParams.get("restored"), "3");
      for (const j of failed) {
        assertEquals((await jobs.get(db.sql, { id: j.id }))!.status, "failed");
      }
      assertStringIncludes(
        text($(await page(back.pathname + back.search), "#undo-result")),
        "3 jobs put back as before the retry",
      );
      // Twice: nothing to undo.
      const again = await call("/jobs", post(undoFields));
      assertEquals(
        new URL(again.headers.get("location")!, BASE).searchParams.get("undo_gone"),
        "1",
      );
      // An offer past its minute shows no Undo.
      where.searchParams.set("until", String(Date.now() - 1));
      assert(!(await page(where.pathname + where.search)).querySelector("form[data-undo]"));

      const rows = (await audit.list(db.sql)).items.map((e) => [e.action, e.count, e.actor]);
      assertEquals(rows, [["bulk.undo", 3, "anonymous"], ["bulk.retry", 3, "anonymous"]]);
    },
    {},
    { base: BASE },
  );
});

Deno.test("/jobs: delete all with no filter asks for the 'every job' box", async () => {
  await withApp(
    async ({ db, call }) => {
      await insertJob(db.sql, { status: "failed" });
      await insertJob(db.sql, { status: "completed" });
      const confirm = parse(await (await call("/jobs?confirm=delete")).text());
      assertStringIncludes(text($(confirm, "#bulk-confirm")), "Delete all 2 jobs");
      assertEquals($(confirm, '#bulk-confirm input[name="all"]').hasAttribute("required"), true);
      const refused = await call("/jobs", post({ action: "delete", scope: "all", back: "/jobs" }));
      assertEquals(refused.status, 422);
      assertEquals((await jobs.list(db.sql)).total, 2);
      const ok = await call(
        "/jobs",
        post({ action: "delete", scope: "all", back: "/jobs", all: "1" }),
      );
      assertEquals(ok.status, 303);
      assertEquals((await jobs.list(db.sql)).total, 0);
    },
    {},
    { base: BASE },
  );
});
