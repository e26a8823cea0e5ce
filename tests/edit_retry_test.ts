/**
 * Edit and retry: `POST /api/jobs/:id/retry` with `{payload?, priority?, queue?}`
 * re-queues the same failed or cancelled job with new values, keeps the old
 * ones in an `edited` event and writes its audit row in the same transaction;
 * a refused edit changes nothing. The pages: "Edit and retry" on a failed job,
 * `/jobs/:id/edit` (the create form prefilled, 303 / 422 / 409) and the
 * timeline's view of the previous values.
 */
import { assert, assertEquals, assertStringIncludes } from "./_helpers/assert.ts";
import { bodyJson, snapshot } from "./_helpers/api_server.ts";
import { openApp } from "./_helpers/app.ts";
import { insertJob, type JobOverrides } from "./_helpers/factory.ts";
import { $, $$, parse, text } from "./_helpers/html.ts";
import { audit, ConflictError, type Job, type JobEvent, jobs } from "../lib/queue/mod.ts";
import * as schemas from "../lib/api_schemas.ts";

const TOKEN = "edit-retry-token";
const P0 = { to: "ada@example.com", subject: "Welcome", body: "Hello Ada" };
const P1 = { to: "ada@example.org", subject: "Welcome back", body: "Hello Ada" };
const ORIGIN = { origin: "http://127.0.0.1:8000", "sec-fetch-site": "same-origin" };

type Full = Job & { events: JobEvent[] };
type ErrorBody = { error: { code: string; issues?: { path: string; message: string }[] } };

Deno.test("edit and retry: the API edits and re-queues the same job, or changes nothing", async (t) => {
  const app = await openApp({ API_TOKEN: `ci:${TOKEN}` }, { token: TOKEN });
  const sql = app.db.sql;
  const failed = (o: JobOverrides = {}) => insertJob(sql, { status: "failed", payload: P0, ...o });
  const retry = (id: string, body?: unknown, from = "10.0.0.7") =>
    app.callFrom(from, `/api/jobs/${id}/retry`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const full = async (id: string) => await bodyJson<Full>(await app.call(`/api/jobs/${id}`));
  const auditOf = async (id: string) => (await audit.list(sql, { job: id })).items;
  try {
    await t.step("payload, priority and queue change; the same job is pending again", async () => {
      const job = await failed();
      const res = await retry(job.id, { payload: P1, priority: 5, queue: "mail-slow" });
      assertEquals(res.status, 200);
      const after = await bodyJson<Job>(res);
      assertEquals(
        [after.id, after.status, after.attempts, after.payload, after.priority, after.queue],
        [job.id, "pending", 0, P1, 5, "mail-slow"],
      );
      assertEquals((await jobs.list(sql, {})).total, 1, "no new job");
      const got = await full(job.id);
      assertEquals(got.events.map((e) => e.kind), ["created", "edited", "retried"]);
      const [, edited, retried] = got.events;
      assertEquals(edited.data, {
        changed: ["payload", "priority", "queue"],
        previous: { payload: P0, priority: 3, queue: "default" },
      });
      assertEquals(
        edited.message,
        "edited by ci (token) from 10.0.0.7: payload (to, subject), priority 3 → 5, " +
          "queue default → mail-slow",
      );
      assertEquals(retried.message, "retried by hand by ci (token) from 10.0.0.7 (was failed)");
      assertEquals(retried.data, null);
      // The events as documented (kind `edited`, `data`).
      schemas.jobResponse.extend({ events: schemas.jobEventResponse.array() }).parse(got);
      assertEquals((await app.call("/api/queues/mail-slow")).status, 200, "the new queue's row");
      const [row, ...more] = await auditOf(job.id);
      assertEquals(more, []);
      assertEquals([row.action, row.actor, row.via, row.address, row.count, row.job_ids], [
        "job.edit",
        "ci",
        "token",
        "10.0.0.7",
        1,
        [job.id],
      ]);
      assertEquals(row.details, {
        from: "failed",
        changed: ["payload", "priority", "queue"],
        previous: { payload: P0, priority: 3, queue: "default" },
        new: { payload: P1, priority: 5, queue: "mail-slow" },
      });
    });

    await t.step("a cancelled job: only the fields that differ are changed", async () => {
      const job = await insertJob(sql, { status: "cancelled", payload: P0, priority: 2 });
      const same = { body: P0.body, subject: P0.subject, to: P0.to }; // other key order
      const res = await retry(job.id, { payload: { ...same, body: "Hi" }, priority: 2 });
      assertEquals(res.status, 200);
      const got = await full(job.id);
      assertEquals([got.status, got.priority, got.payload], ["pending", 2, { ...P0, body: "Hi" }]);
      const edited = got.events.find((e) => e.kind === "edited");
      assertEquals(edited?.data?.changed, ["payload"]);
      assertStringIncludes(edited?.message ?? "", ": payload (body)");
      assertEquals((await auditOf(job.id))[0].details.new, { payload: { ...P0, body: "Hi" } });
    });

    await t.step("without a body, with {} or with equal values: a plain retry", async () => {
      for (const body of [undefined, {}, { payload: P0, priority: 3, queue: "default" }]) {
        const job = await failed();
        const res = await retry(job.id, body, "127.0.0.1");
        assertEquals(res.status, 200, JSON.stringify(body));
        const got = await full(job.id);
        assertEquals([got.status, got.attempts, got.payload], ["pending", 0, P0]);
        assertEquals(got.events.map((e) => e.kind), ["created", "retried"]);
        assertEquals(
          got.events[1].message,
          "retried by hand by ci (token) from 127.0.0.1 (was failed)",
        );
        const rows = await auditOf(job.id);
        assertEquals(rows.map((r) => [r.action, r.details]), [["job.retry", { from: "failed" }]]);
      }
    });

    await t.step(
      "a bad payload, priority, queue or field is a 422 and changes nothing",
      async () => {
        const job = await failed();
        const bad: [unknown, string[]][] = [
          [{ payload: { ...P0, to: "not an address" } }, ["payload.to"]],
          [{ payload: { to: P0.to, subject: P0.subject } }, ["payload.body"]],
          [{ payload: { ...P0, cc: "bob@example.com" } }, ["payload"]],
          [{ payload: "Hello" }, ["payload"]],
          [{ payload: [P0] }, ["payload"]],
          [{ payload: P1, priority: "3" }, ["priority"]],
          [{ priority: 9 }, ["priority"]],
          [{ priority: 2.5 }, ["priority"]],
          [{ queue: "Mail Slow" }, ["queue"]],
          [{ queue: "" }, ["queue"]],
          [{ payload: P1, force: true }, [""]],
        ];
        const before = await snapshot(app.db);
        for (const [body, paths] of bad) {
          const res = await retry(job.id, body);
          assertEquals(res.status, 422, JSON.stringify(body));
          const err = await bodyJson<ErrorBody>(res);
          assertEquals(err.error.code, "validation_failed");
          assertEquals(err.error.issues?.map((i) => i.path), paths, JSON.stringify(body));
        }
        assertEquals(await snapshot(app.db), before, "payload, status and events unchanged");
        assertEquals(await auditOf(job.id), []);
        const got = await full(job.id);
        assertEquals([got.status, got.payload, got.events.length], ["failed", P0, 1]);
      },
    );

    await t.step("a job neither failed nor cancelled is a 409, checked first", async () => {
      const ids = [
        (await insertJob(sql, { status: "pending" })).id,
        (await insertJob(sql, { status: "completed" })).id,
        (await insertJob(sql, { status: "processing" })).id,
      ];
      const before = await snapshot(app.db);
      for (const id of ids) {
        for (const body of [undefined, { payload: P1 }, { payload: { to: "x" }, priority: 1 }]) {
          const res = await retry(id, body);
          assertEquals(res.status, 409, JSON.stringify(body));
          assertEquals((await bodyJson<ErrorBody>(res)).error.code, "job_not_retryable");
        }
        assertEquals(await auditOf(id), []);
      }
      assertEquals(await snapshot(app.db), before);
      const missing = await retry(crypto.randomUUID(), { payload: P1 });
      assertEquals(missing.status, 404);
    });

    await t.step("atomic: an edit whose retry or audit row fails is not kept", async () => {
      // Its unique_key is held by a pending job: the retry is refused, and so is the edit.
      const held = await failed();
      const holder = await insertJob(sql, { status: "pending" });
      await sql`UPDATE job SET unique_key = 'k-1' WHERE id IN (${held.id}, ${holder.id})`;
      const before = await snapshot(app.db);
      const res = await retry(held.id, { payload: P1, priority: 1 });
      assertEquals(res.status, 409);
      assertEquals((await bodyJson<ErrorBody>(res)).error.code, "unique_key_taken");
      assertEquals(await snapshot(app.db), before);
      assertEquals(await auditOf(held.id), []);
      // The audit row cannot be stored (an actor name over 200 characters): nothing is.
      const job = await failed();
      const actor = { name: "x".repeat(201), via: "token" as const, address: null };
      let refused: unknown = null;
      try {
        await jobs.retry(sql, { id: job.id, actor, edit: { payload: P1, priority: 5 } });
      } catch (err) {
        refused = err;
      }
      assert(refused instanceof Error && !(refused instanceof ConflictError), String(refused));
      const got = await full(job.id);
      assertEquals([got.status, got.payload, got.priority], ["failed", P0, 3]);
      assertEquals(got.events.map((e) => e.kind), ["created"]);
      assertEquals(await auditOf(job.id), []);
    });

    await t.step("a report job's nested payload is checked and kept the same way", async () => {
      const R0 = {
        report_type: "failures",
        format: "csv",
        date_range: { from: "2026-11-01", to: "2026-11-30" },
      };
      const job = await failed({ type: "report", payload: R0 });
      const backwards = { ...R0, date_range: { from: "2026-12-01", to: "2026-11-30" } };
      const bad = await retry(job.id, { payload: backwards });
      assertEquals(bad.status, 422);
      assert(
        (await bodyJson<ErrorBody>(bad)).error.issues?.every((i) => i.path.startsWith("payload")),
      );
      const R1 = { ...R0, format: "pdf" };
      assertEquals((await retry(job.id, { payload: R1 })).status, 200);
      const got = await full(job.id);
      assertEquals(got.payload, R1);
      assertEquals(got.events.find((e) => e.kind === "edited")?.data?.previous, {
        payload: R0,
        priority: 3,
        queue: "default",
      });
    });
  } finally {
    await app.close();
  }
});

Deno.test("edit and retry: the pages, without JavaScript", async (t) => {
  const app = await openApp();
  const sql = app.db.sql;
  const html = async (path: string) => parse(await (await app.call(path)).text());
  const post = (path: string, fields: Record<string, string>) =>
    app.call(path, {
      method: "POST",
      body: new URLSearchParams(fields),
      headers: ORIGIN,
      redirect: "manual",
    });
  try {
    await t.step(
      "a failed job's page links to the prefilled form; others have no link",
      async () => {
        const job = await insertJob(sql, { status: "failed", payload: P0, priority: 4 });
        const link = $(await html(`/jobs/${job.id}`), "a[data-action=edit]");
        assertEquals(link.getAttribute("href"), `/jobs/${job.id}/edit`);
        assertEquals(text(link), "Edit and retry");
        for (const status of ["pending", "completed"] as const) {
          const other = await insertJob(sql, { status });
          assertEquals($$(await html(`/jobs/${other.id}`), "a[data-action=edit]").length, 0);
          assertEquals((await app.call(`/jobs/${other.id}/edit`)).status, 409);
        }
        assertEquals((await app.call(`/jobs/${crypto.randomUUID()}/edit`)).status, 404);

        const form = $(
          await html(`/jobs/${job.id}/edit`),
          "form[aria-label='Edit and retry a job']",
        );
        assertEquals(form.getAttribute("action"), `/jobs/${job.id}/edit`);
        assertEquals(form.getAttribute("method"), "post");
        const value = (name: string) => $(form, `[name="${name}"]`).getAttribute("value");
        assertEquals([value("to"), value("subject"), value("queue")], [
          P0.to,
          P0.subject,
          "default",
        ]);
        assertEquals(text($(form, "textarea[name=body]")), P0.body);
        assertEquals($(form, "select[name=priority] option[selected]").getAttribute("value"), "4");
        assert($(form, "select#f-type").hasAttribute("disabled"), "the type is fixed");
        for (const name of ["scheduled_for", "unique_key", "timeout_seconds", "expires_at"]) {
          assertEquals($$(form, `[name="${name}"]`).length, 0, name);
        }
      },
    );

    await t.step(
      "submitting re-queues the same job (303) and the timeline keeps the old payload",
      async () => {
        const job = await insertJob(sql, { status: "failed", payload: P0 });
        const res = await post(`/jobs/${job.id}/edit`, {
          type: "report", // ignored: a job keeps its type
          ...P1,
          priority: "5",
          queue: "mail-slow",
          unique_key: "ignored",
        });
        assertEquals(res.status, 303);
        assertEquals(res.headers.get("location"), `/jobs/${job.id}?done=edited`);
        const after = await jobs.get(sql, { id: job.id });
        assertEquals(
          [after?.type, after?.status, after?.payload, after?.priority, after?.queue],
          ["email", "pending", P1, 5, "mail-slow"],
        );
        assertEquals(after?.unique_key, null);
        const [row] = (await audit.list(sql, { job: job.id })).items;
        assertEquals([row.action, row.actor, row.via], ["job.edit", "anonymous", "open"]);
        const page = await html(res.headers.get("location")!);
        assertStringIncludes(text(page.body), "Job edited and queued again");
        const edited = $(page, "[data-event=edited]");
        assertStringIncludes(
          text(edited),
          "edited by anonymous from 127.0.0.1: payload (to, subject)",
        );
        const previous = JSON.parse(text($(edited, "details[data-previous] pre")));
        assertEquals(previous, { payload: P0, priority: 3, queue: "default" });
      },
    );

    await t.step("a bad field is a 422 with the form and its error; nothing changes", async () => {
      const job = await insertJob(sql, { status: "cancelled", payload: P0 });
      const before = await snapshot(app.db);
      const res = await post(`/jobs/${job.id}/edit`, { ...P0, to: "nope", priority: "3" });
      assertEquals(res.status, 422);
      const page = parse(await res.text());
      assertStringIncludes(text($(page, "[data-error-for=to]")), "To");
      assertEquals($(page, "[name=to]").getAttribute("value"), "nope", "what was typed stays");
      assertEquals($(page, "form").getAttribute("action"), `/jobs/${job.id}/edit`);
      assertEquals(await snapshot(app.db), before);
    });

    await t.step("a job retried meanwhile: 409 with the form and the reason", async () => {
      const job = await insertJob(sql, { status: "failed", payload: P0 });
      await jobs.retry(sql, { id: job.id });
      const res = await post(`/jobs/${job.id}/edit`, { ...P1, priority: "3", queue: "" });
      assertEquals(res.status, 409);
      assertStringIncludes(text($(parse(await res.text()), "[role=alert]")), "this one is pending");
    });

    await t.step("the page's plain Retry names who did it and is audited", async () => {
      const job = await insertJob(sql, { status: "failed" });
      const res = await post(`/jobs/${job.id}`, { action: "retry" });
      assertEquals(res.status, 303);
      const got = await jobs.getWithEvents(sql, { id: job.id });
      assertEquals(
        got?.events.at(-1)?.message,
        "retried by hand by anonymous from 127.0.0.1 (was failed)",
      );
      const rows = (await audit.list(sql, { job: job.id })).items;
      assertEquals(rows.map((r) => r.action), ["job.retry"]);
    });
  } finally {
    await app.close();
  }
});
