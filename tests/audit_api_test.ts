/**
 * The audit log wired to the operator's actions: each action through the API
 * (a named token) or the pages (a dashboard session) writes exactly one entry
 * with its actor, how they came and from where, in the action's transaction
 * (a refused action writes none); the job's timeline names the actor;
 * `GET /api/audit` filters, pages and refuses bad queries with 422s; the
 * `/audit` page lists and filters without JavaScript; RETAIN_AUDIT retention.
 */
import { audit, jobs, queues, schedules } from "../lib/queue/mod.ts";
import type { AuditEntry } from "../lib/queue/audit.ts";
import { SESSION_COOKIE, signSession } from "../lib/http/session.ts";
import { openApp, type TestApp, withApp } from "./_helpers/app.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./_helpers/assert.ts";
import { insertJob } from "./_helpers/factory.ts";
import { ageMs, parseConfig } from "../lib/config.ts";
import { PrunerService } from "../worker/services/pruner.ts";
import { $, $$, parse, text } from "./_helpers/html.ts";

const SECRET = "dashboard-secret-1234";
const EMAIL = { to: "ada@example.com", subject: "Hello", body: "Hi Ada" };
const CI = "10.1.2.3";
const DAY = 86_400_000;
const FOREVER = { completed: 0, failed: 0, cancelled: 0 };

/** The newest entry, after checking that exactly one was written since `before` entries. */
async function oneNew(app: TestApp, before: number): Promise<AuditEntry> {
  const r = await audit.list(app.db.sql, { limit: 1 });
  assertEquals(r.total, before + 1, "exactly one audit entry");
  return r.items[0];
}

async function total(app: TestApp): Promise<number> {
  return (await audit.list(app.db.sql, { limit: 1 })).total;
}

/** The API as the `ci` token from {@link CI}. */
function api(app: TestApp, path: string, init: RequestInit = {}, body?: unknown) {
  const headers = new Headers(init.headers);
  if (body !== undefined) headers.set("content-type", "application/json");
  return app.callFrom(CI, path, {
    ...init,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    token: "tok-ci",
  });
}

Deno.test("audit log: every wired action writes one entry, atomically, with who and from where", async (t) => {
  const app = await openApp({
    API_TOKEN: "ci:tok-ci,deploy:tok-deploy",
    DASHBOARD_PASSWORD: SECRET,
  });
  const sql = app.db.sql;
  const cookie = `${SESSION_COOKIE}=${await signSession(SECRET, "admin")}`;
  /** A page form post as the signed-in dashboard user (from loopback). */
  const page = (path: string, fields: Record<string, string>) =>
    app.call(path, {
      method: "POST",
      body: new URLSearchParams(fields),
      headers: { cookie, origin: app.base, "sec-fetch-site": "same-origin" },
      redirect: "manual",
    });
  const dashboard = { actor: "admin", via: "session", address: "127.0.0.1" };
  const ci = { actor: "ci", via: "token", address: CI };
  const who = (e: AuditEntry) => ({ actor: e.actor, via: e.via as string, address: e.address });
  try {
    await t.step("API creates are not audited; cancel through the API is, once", async () => {
      const res = await api(app, "/api/jobs", { method: "POST" }, {
        type: "email",
        payload: EMAIL,
      });
      assertEquals(res.status, 201);
      const { id } = await bodyJson<{ id: string }>(res);
      assertEquals(await total(app), 0);
      const del = await api(app, `/api/jobs/${id}`, { method: "DELETE" });
      assertEquals(del.status, 200);
      await del.body?.cancel();
      const e = await oneNew(app, 0);
      assertEquals(who(e), ci);
      assertEquals([e.action, e.job_ids, e.count], ["job.cancel", [id], 1]);
      const job = await jobs.getWithEvents(sql, { id });
      assertEquals(
        job?.events.at(-1)?.message,
        `cancelled by hand by ci (token) from ${CI}`,
      );
      // Refused: cancelling a cancelled job (409) and an unknown one (404) write nothing.
      const again = await api(app, `/api/jobs/${id}`, { method: "DELETE" });
      assertEquals(again.status, 409);
      await again.body?.cancel();
      const none = await api(app, `/api/jobs/${crypto.randomUUID()}`, { method: "DELETE" });
      assertEquals(none.status, 404);
      await none.body?.cancel();
      assertEquals(await total(app), 1);
    });

    await t.step(
      "a running job's cancel request is one entry; its worker is asked to stop",
      async () => {
        const job = await insertJob(sql, { status: "processing" });
        const before = await total(app);
        const res = await api(app, `/api/jobs/${job.id}`, { method: "DELETE" });
        assertEquals(res.status, 202);
        await res.body?.cancel();
        const e = await oneNew(app, before);
        assertEquals([e.action, e.job_ids, e.details.was], ["job.cancel", [job.id], "processing"]);
      },
    );

    await t.step(
      "the entry and its action are one transaction: an entry that cannot be written undoes the cancel",
      async () => {
        const job = await jobs.enqueue(sql, { job: { type: "email", payload: EMAIL } });
        const before = await total(app);
        await assertRejects(() =>
          jobs.cancel(sql, {
            id: job.id,
            actor: { name: "x".repeat(201), via: "token", address: null },
          })
        );
        assertEquals((await jobs.get(sql, { id: job.id }))?.status, "pending");
        assertEquals(await total(app), before);
      },
    );

    let formJob = "";
    await t.step(
      "the create form: one job.create entry; the created event names the user",
      async () => {
        const before = await total(app);
        const res = await page("/jobs/new", { type: "email", priority: "3", ...EMAIL });
        assertEquals(res.status, 303);
        formJob = (res.headers.get("location") ?? "").split("/").pop()!.split("?")[0];
        const e = await oneNew(app, before);
        assertEquals(who(e), dashboard);
        assertEquals([e.action, e.job_ids, e.count], ["job.create", [formJob], 1]);
        const job = await jobs.getWithEvents(sql, { id: formJob });
        assertEquals(
          job?.events[0].message,
          "created from the form by admin (dashboard) from 127.0.0.1",
        );
        // A refused form (422) writes nothing.
        const bad = await page("/jobs/new", { type: "email", priority: "9", ...EMAIL });
        assertEquals(bad.status, 422);
        await bad.body?.cancel();
        assertEquals(await total(app), before + 1);
      },
    );

    await t.step(
      "the job page's cancel and delete: one entry each; a refused delete none",
      async () => {
        let before = await total(app);
        let res = await page(`/jobs/${formJob}`, { action: "cancel" });
        assertEquals(res.status, 303);
        let e = await oneNew(app, before);
        assertEquals([who(e), e.action, e.job_ids], [dashboard, "job.cancel", [formJob]]);
        const timeline = parse(
          await (await app.call(`/jobs/${formJob}`, { headers: { cookie } })).text(),
        );
        assertMatch(
          text($(timeline, 'li[data-event="cancelled"]')),
          /cancelled by hand by admin \(dashboard\)/,
        );
        assertEquals($(timeline, `a[href="/audit?job=${formJob}"]`) !== null, true);

        before = await total(app);
        res = await page(`/jobs/${formJob}`, { action: "delete" });
        assertEquals(res.status, 303);
        e = await oneNew(app, before);
        assertEquals([who(e), e.action, e.job_ids, e.count], [
          dashboard,
          "job.delete",
          [formJob],
          1,
        ]);
        assertEquals([e.details.type, e.details.status], ["email", "cancelled"]);

        const running = await insertJob(sql, { status: "processing" });
        res = await page(`/jobs/${running.id}`, { action: "delete" });
        assertEquals(res.status, 409);
        await res.body?.cancel();
        assertEquals(await total(app), before + 1);
      },
    );

    await t.step(
      "queues: pause, resume and limit through the API and the page, with before and after",
      async () => {
        await jobs.enqueue(sql, { job: { type: "email", payload: EMAIL, queue: "mail" } });
        let before = await total(app);
        let res = await api(app, "/api/queues/mail", { method: "PATCH" }, { paused: true });
        assertEquals(res.status, 200);
        await res.body?.cancel();
        let e = await oneNew(app, before);
        assertEquals([who(e), e.action, e.target], [ci, "queue.pause", "mail"]);
        assertEquals(e.details, { before: { paused: false }, after: { paused: true } });
        assertEquals(e.job_ids, null);

        // Both settings in one request: one entry per setting, in the same transaction.
        res = await api(app, "/api/queues/mail", { method: "PATCH" }, {
          paused: false,
          concurrency: 4,
        });
        assertEquals(res.status, 200);
        await res.body?.cancel();
        const two = await audit.list(sql, { limit: 2 });
        assertEquals(two.total, before + 3);
        assertEquals(two.items.map((x) => x.action).sort(), ["queue.limit", "queue.resume"]);
        const limit = two.items.find((x) => x.action === "queue.limit")!;
        assertEquals(limit.details, { before: { concurrency: null }, after: { concurrency: 4 } });

        // Refused: an unknown queue (404) and a bad body (422) write nothing.
        before = await total(app);
        for (
          const [path, body, status] of [
            ["/api/queues/nope", { paused: true }, 404],
            ["/api/queues/mail", { concurrency: 0 }, 422],
          ] as const
        ) {
          res = await api(app, path, { method: "PATCH" }, body);
          assertEquals(res.status, status);
          await res.body?.cancel();
        }
        assertEquals(await total(app), before);

        res = await page("/queues", { queue: "mail", action: "pause" });
        assertEquals(res.status, 303);
        e = await oneNew(app, before);
        assertEquals([who(e), e.action, e.target], [dashboard, "queue.pause", "mail"]);
        res = await page("/queues", { queue: "mail", action: "limit", concurrency: "" });
        assertEquals(res.status, 303);
        e = await oneNew(app, before + 1);
        assertEquals([e.action, e.details], ["queue.limit", {
          before: { concurrency: 4 },
          after: { concurrency: null },
        }]);
        assertEquals((await queues.get(sql, { name: "mail" }))?.concurrency, null);
      },
    );

    await t.step(
      "schedules through the API: create, change, run, delete; refused ones write nothing",
      async () => {
        const body = { name: "nightly", cron: "0 3 * * *", type: "email", payload: EMAIL };
        let before = await total(app);
        let res = await api(app, "/api/schedules", { method: "POST" }, body);
        assertEquals(res.status, 201);
        await res.body?.cancel();
        let e = await oneNew(app, before);
        assertEquals([who(e), e.action, e.target], [ci, "schedule.create", "nightly"]);
        assertEquals((e.details.schedule as { cron: string }).cron, "0 3 * * *");

        res = await api(app, "/api/schedules", { method: "POST" }, body);
        assertEquals(res.status, 409);
        await res.body?.cancel();
        assertEquals(await total(app), before + 1);

        res = await api(app, "/api/schedules/nightly", { method: "PATCH" }, { cron: "0 4 * * *" });
        assertEquals(res.status, 200);
        await res.body?.cancel();
        e = await oneNew(app, before + 1);
        assertEquals([e.action, e.target], ["schedule.update", "nightly"]);
        assertEquals(e.details, { before: { cron: "0 3 * * *" }, after: { cron: "0 4 * * *" } });

        res = await api(app, "/api/schedules/nightly", { method: "PATCH" }, { type: "report" });
        assertEquals(res.status, 422);
        await res.body?.cancel();
        assertEquals(await total(app), before + 2);

        res = await api(app, "/api/schedules/nightly/run", { method: "POST" });
        assertEquals(res.status, 201);
        const { id } = await bodyJson<{ id: string }>(res);
        e = await oneNew(app, before + 2);
        assertEquals([e.action, e.target, e.job_ids, e.count], [
          "schedule.run",
          "nightly",
          [id],
          1,
        ]);
        const job = await jobs.getWithEvents(sql, { id });
        assertEquals(
          job?.events[0].message,
          `enqueued by "run now" of schedule nightly by ci (token) from ${CI}`,
        );

        res = await api(app, "/api/schedules/nightly", { method: "DELETE" });
        assertEquals(res.status, 200);
        await res.body?.cancel();
        e = await oneNew(app, before + 3);
        assertEquals([e.action, e.target], ["schedule.delete", "nightly"]);
        assertEquals((e.details.schedule as { cron: string }).cron, "0 4 * * *");

        before = await total(app);
        for (const path of ["/api/schedules/nightly", "/api/schedules/nightly/run"]) {
          res = await api(app, path, { method: path.endsWith("run") ? "POST" : "DELETE" });
          assertEquals(res.status, 404);
          await res.body?.cancel();
        }
        assertEquals(await total(app), before);
      },
    );

    await t.step("schedules through the pages: create, disable, run now, delete", async () => {
      const before = await total(app);
      let res = await page("/schedules", {
        name: "weekly",
        cron: "0 7 * * 1",
        timezone: "UTC",
        type: "email",
        payload: JSON.stringify(EMAIL),
        priority: "3",
        queue: "",
        max_attempts: "3",
        enabled: "on",
      });
      assertEquals(res.status, 303);
      res = await page("/schedules/weekly", { action: "disable" });
      assertEquals(res.status, 303);
      res = await page("/schedules/weekly", { action: "run" });
      assertEquals(res.status, 303);
      const job = new URL(res.headers.get("location")!, app.base).searchParams.get("job");
      res = await page("/schedules/weekly", { action: "delete" });
      assertEquals(res.status, 303);
      const r = await audit.list(sql, { limit: 4 });
      assertEquals(r.total, before + 4);
      assertEquals(r.items.map((e) => e.action).reverse(), [
        "schedule.create",
        "schedule.update",
        "schedule.run",
        "schedule.delete",
      ]);
      assert(r.items.every((e) => e.actor === "admin" && e.via === "session"));
      assertEquals(r.items[2].details, { before: { enabled: true }, after: { enabled: false } });
      assertEquals(r.items[1].job_ids, [job]);
      assertEquals(await schedules.get(sql, { name: "weekly" }), null);
    });

    await t.step("GET /api/audit: filters, paging, newest first", async () => {
      const all = await audit.list(sql, { limit: 100 });
      const get = async (q: string) => {
        const res = await app.call(`/api/audit${q}`, { token: "tok-deploy" });
        assertEquals(res.status, 200, q);
        return await bodyJson<
          { items: AuditEntry[]; total: number; limit: number; offset: number }
        >(
          res,
        );
      };
      const page1 = await get("");
      assertEquals([page1.total, page1.limit, page1.offset], [all.total, 50, 0]);
      assertEquals(page1.items.map((e) => e.id), all.items.map((e) => e.id));
      const ats = page1.items.map((e) => new Date(e.at).getTime());
      assertEquals(ats, [...ats].sort((a, b) => b - a));
      // Reading is not an action.
      assertEquals(await total(app), all.total);

      const cancels = all.items.filter((e) => e.action === "job.cancel").length;
      const pauses = all.items.filter((e) => e.action === "queue.pause").length;
      assertEquals((await get("?action=job.cancel")).total, cancels);
      assertEquals((await get("?action=job.cancel,queue.pause")).total, cancels + pauses);
      assertEquals((await get("?action=job.cancel&action=queue.pause")).total, cancels + pauses);
      const byCi = await get("?actor=ci");
      assertEquals(byCi.total, all.items.filter((e) => e.actor === "ci").length);
      assert(byCi.items.every((e) => e.actor === "ci" && e.via === "token"));
      assertEquals((await get("?actor=nobody")).total, 0);
      const byJob = await get(`?job=${formJob.toUpperCase()}`);
      assertEquals(byJob.items.map((e) => e.action), ["job.delete", "job.cancel", "job.create"]);
      const paged = await get("?limit=2&offset=1");
      assertEquals(paged.items.map((e) => e.id), all.items.slice(1, 3).map((e) => e.id));
      const first = all.items.at(-1)!;
      const since = new Date(new Date(first.at).getTime() + 1).toISOString();
      assertEquals((await get(`?since=${encodeURIComponent(since)}`)).total, all.total - 1);
      assertEquals(
        (await get(`?until=${encodeURIComponent(since)}&since=2000-01-01T00:00:00Z`)).total,
        1,
      );
    });

    await t.step("GET /api/audit: bad queries are 422s naming the field", async () => {
      for (
        const [q, field] of [
          ["?action=job.explode", "action"],
          ["?job=not-a-uuid", "job"],
          ["?since=yesterday", "since"],
          ["?until=2026-01-01", "until"],
          ["?limit=0", "limit"],
          ["?limit=101", "limit"],
          ["?offset=-1", "offset"],
          ["?actor=a&actor=b", "actor"],
          ["?colour=red", "colour"],
        ]
      ) {
        const res = await app.call(`/api/audit${q}`, { token: "tok-ci" });
        const body = await bodyJson<{ error: { code: string; message: string } }>(res);
        assertEquals(res.status, 422, q);
        assertMatch(JSON.stringify(body.error), new RegExp(field), q);
      }
      const anon = await app.call("/api/audit");
      assertEquals(anon.status, 401);
      await anon.body?.cancel();
    });

    await t.step(
      "the /audit page: the table, linked jobs, filters in the URL, a 422 for a bad one",
      async () => {
        const get = async (q: string, status = 200) => {
          const res = await app.call(`/audit${q}`, { headers: { cookie } });
          assertEquals(res.status, status, q);
          return parse(await res.text());
        };
        const doc = await get("");
        assert($(doc, 'nav a[href="/audit"]'));
        const rows = $$(doc, "tr[data-audit]");
        assertEquals(rows.length, await total(app));
        assertEquals(text($(rows[0], "[data-action]")), "schedule.delete");
        assert($(doc, `a[href="/jobs/${formJob}"]`), "the jobs are linked");
        assertMatch(text($(doc, `tr[data-audit] [data-address]`)), /from /);

        const cancels = await get("?action=job.cancel");
        assert(
          $$(cancels, "tr[data-audit]").every((r) => text($(r, "[data-action]")) === "job.cancel"),
        );
        assertEquals(
          $(cancels, 'select[name=action] option[value="job.cancel"]').hasAttribute("selected"),
          true,
        );
        const mine = await get("?actor=admin");
        assert($$(mine, "tr[data-audit]").length > 0);
        assert($$(mine, "tr[data-audit]").every((r) => text($(r, "[data-actor]")) === "admin"));
        const byJob = await get(`?job=${formJob}`);
        assertEquals($$(byJob, "tr[data-audit]").length, 3);
        const bad = await get("?job=nope", 422);
        assertMatch(text($(bad, '[role="alert"]')), /job must be a job id/);
      },
    );
    await t.step("an open install's actor is anonymous, from the request's address", async () => {
      // A second app on the same database, without API_TOKEN and DASHBOARD_PASSWORD.
      await withApp(
        async (open) => {
          const job = await jobs.enqueue(sql, { job: { type: "email", payload: EMAIL } });
          const before = await total(app);
          const res = await open.callFrom("192.0.2.9", `/api/jobs/${job.id}`, { method: "DELETE" });
          assertEquals(res.status, 200);
          await res.body?.cancel();
          const e = await oneNew(app, before);
          assertEquals([e.actor, e.via, e.address], ["anonymous", "open", "192.0.2.9"]);
          const ev = (await jobs.getWithEvents(sql, { id: job.id }))?.events.at(-1);
          assertEquals(ev?.message, "cancelled by hand by anonymous from 192.0.2.9");
        },
        {},
        { db: app.db },
      );
    });
    await t.step(
      "retention: the worker's pruner deletes entries older than RETAIN_AUDIT, only those",
      async () => {
        const actor = { name: "ci", via: "token" as const, address: "10.0.0.7" };
        const now = Date.now();
        for (const days of [120, 91, 89]) {
          await audit.record(sql, {
            actor,
            action: "queue.limit",
            target: `old${days}`,
            now: new Date(now - days * DAY),
          });
        }
        const before = await total(app);
        // Jobs kept forever and entries too: the pruner does not run at all.
        const off = new PrunerService({ sql, worker: "w", retain: FOREVER, retainAuditMs: 0 });
        off.start();
        assertEquals([off.running, await off.runNow()], [false, null]);
        await off.stop();
        const svc = new PrunerService({
          sql,
          worker: "w",
          retain: FOREVER,
          retainAuditMs: 90 * DAY,
        });
        svc.start();
        const r = await svc.runNow();
        await svc.stop();
        assertEquals([r?.audit, r?.jobs], [2, 0]);
        assertEquals(await total(app), before - 2);
        const old = await audit.list(sql, { until: new Date(now - DAY) });
        assertEquals(old.items.map((e) => e.target), ["old89"]);
      },
    );
  } finally {
    await app.close();
  }
});

Deno.test("config: RETAIN_AUDIT defaults to 90 days; 0 keeps entries forever", () => {
  assertEquals(ageMs(parseConfig({}).RETAIN_AUDIT), 90 * DAY);
  assertEquals(ageMs(parseConfig({ RETAIN_AUDIT: "12h" }).RETAIN_AUDIT), DAY / 2);
  assertEquals(ageMs(parseConfig({ RETAIN_AUDIT: "0" }).RETAIN_AUDIT), 0);
});
