/**
 * `GET /api/jobs/:id/explain` and the job page's panel: each reason in a
 * situation built for it, on a database of its own per step.
 */
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { type TestApp, withApp } from "./_helpers/app.ts";
import { insertJob } from "./_helpers/factory.ts";
import { reasonOf } from "../lib/queue/explain.ts";
import { workers } from "../lib/queue/mod.ts";
import { parse as htmlOf } from "./_helpers/html.ts";

type Explained = {
  code: string;
  message: string;
  until?: string;
  details: Record<string, unknown>;
};

async function explain(app: TestApp, id: string): Promise<Explained> {
  const res = await app.call(`/api/jobs/${id}/explain`);
  const body = await bodyJson<Explained>(res);
  assertEquals(res.status, 200, JSON.stringify(body));
  return body;
}

/** A live worker process serving `queues` (all when omitted). */
async function liveWorker(app: TestApp, id = "w1", queues?: string[]) {
  await workers.register(app.db.sql, {
    id,
    host: "test",
    pid: 1,
    concurrency: 4,
    info: queues ? { queues } : {},
  });
}

async function setQueue(app: TestApp, name: string, s: { paused?: boolean; concurrency?: number }) {
  await app.db.sql`
    INSERT INTO queue (name, paused, concurrency) VALUES (${name}, ${s.paused ?? false}, ${
    s.concurrency ?? null
  })
    ON CONFLICT (name) DO UPDATE SET paused = EXCLUDED.paused, concurrency = EXCLUDED.concurrency`;
}

const HOUR = 3600_000;

Deno.test("explain: each reason in a situation built for it", async (t) => {
  await t.step("ready: due, first in its queue, a worker serves it", () =>
    withApp(async (app) => {
      await liveWorker(app);
      const job = await insertJob(app.db.sql, {});
      const e = await explain(app, job.id);
      assertEquals(e.code, "ready");
      assertEquals(e.details.queue, "default");
    }));

  await t.step(
    "behind: N due jobs ahead of it in its queue, not those of other queues",
    () =>
      withApp(async (app) => {
        await liveWorker(app);
        const old = new Date(Date.now() - 60_000);
        await insertJob(app.db.sql, { created_at: old });
        await insertJob(app.db.sql, { priority: 5 });
        const other = await insertJob(app.db.sql, { created_at: old });
        await app.db.sql`UPDATE job SET queue = 'other' WHERE id = ${other.id}`;
        const job = await insertJob(app.db.sql, {});
        const e = await explain(app, job.id);
        assertEquals(e.code, "behind");
        assertEquals(e.details.ahead, 2);
        assertMatch(e.message, /^2 due jobs are ahead of it in the queue "default"/);
      }),
  );

  await t.step("scheduled: not due yet, with until", () =>
    withApp(async (app) => {
      await liveWorker(app);
      const at = new Date(Date.now() + 3 * HOUR);
      const job = await insertJob(app.db.sql, { scheduled_for: at });
      const e = await explain(app, job.id);
      assertEquals(e.code, "scheduled");
      assertEquals(e.until, at.toISOString());
    }));

  await t.step("retry_backoff: a failed attempt waits for its retry", () =>
    withApp(async (app) => {
      await liveWorker(app);
      const created = await app.post("/api/jobs", {
        type: "email",
        payload: { to: "a@example.com", subject: "s", body: "b" },
      });
      const { id } = await bodyJson<{ id: string }>(created);
      const claimed = await bodyJson<{ id: string; locked_by: string; attempts: number }>(
        await app.post("/api/process", { worker: "ext" }),
      );
      assertEquals(claimed.id, id);
      const failed = await app.post(`/api/fail/${id}`, {
        error: "smtp down",
        worker: claimed.locked_by,
        attempt: claimed.attempts,
      });
      assertEquals(failed.status, 200, await failed.clone().text());
      const e = await explain(app, id);
      assertEquals(e.code, "retry_backoff");
      assertEquals(e.details.attempts, 1);
      assert(e.until && new Date(e.until) > new Date(Date.now() - 1000));
    }));

  await t.step("queue_paused beats no_worker and behind", () =>
    withApp(async (app) => {
      await setQueue(app, "reports", { paused: true });
      const job = await insertJob(app.db.sql, { type: "report" });
      await app.db.sql`UPDATE job SET queue = 'reports' WHERE id = ${job.id}`;
      const e = await explain(app, job.id);
      assertEquals(e.code, "queue_paused");
      assertEquals(e.details.queue, "reports");
    }));

  await t.step("queue_at_limit: N of N of its queue running", () =>
    withApp(async (app) => {
      await liveWorker(app);
      await setQueue(app, "mail", { concurrency: 1 });
      const running = await insertJob(app.db.sql, { status: "processing" });
      const job = await insertJob(app.db.sql, {});
      await app.db.sql`UPDATE job SET queue = 'mail' WHERE id IN (${running.id}, ${job.id})`;
      const e = await explain(app, job.id);
      assertEquals(e.code, "queue_at_limit");
      assertEquals(e.details, { queue: "mail", running: 1, concurrency: 1 });
      assertMatch(e.message, /1 of 1 running/);
    }));

  await t.step(
    "no_worker: none live, a late one, or none serving its queue",
    () =>
      withApp(async (app) => {
        const job = await insertJob(app.db.sql, {});
        assertEquals((await explain(app, job.id)).code, "no_worker");
        await liveWorker(app, "late");
        await app.db.sql`UPDATE worker SET heartbeat_at = now() - interval '5 minutes'`;
        assertEquals((await explain(app, job.id)).code, "no_worker");
        await liveWorker(app, "mail-only", ["mail"]);
        assertEquals((await explain(app, job.id)).code, "no_worker");
        await liveWorker(app, "default-too", ["mail", "default"]);
        assertEquals((await explain(app, job.id)).code, "ready");
      }),
  );

  await t.step(
    "expired: its deadline passed before it started (first reason)",
    () =>
      withApp(async (app) => {
        await setQueue(app, "default", { paused: true });
        const job = await insertJob(app.db.sql, {});
        await app.db
          .sql`UPDATE job SET expires_at = now() - interval '1 minute' WHERE id = ${job.id}`;
        assertEquals((await explain(app, job.id)).code, "expired");
      }),
  );

  await t.step(
    "a job that is not pending answers its state; unknown ids are 404",
    () =>
      withApp(async (app) => {
        const done = await insertJob(app.db.sql, { status: "completed" });
        assertEquals((await explain(app, done.id)).code, "completed");
        const run = await insertJob(app.db.sql, { status: "processing", locked_by: "w/1" });
        const e = await explain(app, run.id);
        assertEquals(e.code, "processing");
        assertEquals(e.details.worker, "w/1");
        const missing = await app.call(`/api/jobs/${crypto.randomUUID()}/explain`);
        assertEquals(missing.status, 404);
        assertEquals(
          (await bodyJson<{ error: { code: string } }>(missing)).error.code,
          "job_not_found",
        );
        assertEquals((await app.call("/api/jobs/not-a-uuid/explain")).status, 404);
      }),
  );

  await t.step(
    "the pending job's page says it in a sentence, times in words",
    () =>
      withApp(async (app) => {
        await liveWorker(app);
        // 3.5 h ahead: "in 3 h" however long the page takes.
        const job = await insertJob(app.db.sql, {
          scheduled_for: new Date(Date.now() + 3.5 * HOUR),
        });
        const res = await app.call(`/jobs/${job.id}`);
        assertEquals(res.status, 200);
        const doc = htmlOf(await res.text());
        const panel = doc.querySelector("[data-explain]");
        assertEquals(panel?.getAttribute("data-explain"), "scheduled");
        assertMatch(panel?.textContent ?? "", /It is scheduled to run in 3 h \(\d{4}-\d\d-\d\d /);
        const queue = doc.querySelector("[data-field=queue]");
        assertEquals(queue?.textContent, "default");
        assertEquals(queue?.getAttribute("href"), "/jobs?queue=default");
        const done = await insertJob(app.db.sql, { status: "completed" });
        const other = htmlOf(await (await app.call(`/jobs/${done.id}`)).text());
        assertEquals(other.querySelector("[data-explain]"), null);
      }),
  );

  await t.step(
    'the job list says "paused" and "scheduled · in 3 h" where that holds',
    () =>
      withApp(async (app) => {
        await setQueue(app, "reports", { paused: true });
        const held = await insertJob(app.db.sql, { type: "report" });
        const later = await insertJob(app.db.sql, {
          type: "report",
          scheduled_for: new Date(Date.now() + 3.5 * HOUR),
        });
        const free = await insertJob(app.db.sql, {});
        await app.db.sql`UPDATE job SET queue = 'reports' WHERE id IN (${held.id}, ${later.id})`;
        const doc = htmlOf(await (await app.call("/jobs")).text());
        const badge = (id: string) => {
          const link = doc.querySelector(`a[href="/jobs/${id}"]`);
          const row = link?.closest("tr");
          return row?.querySelector("[data-badge]");
        };
        assertEquals(badge(held.id)?.getAttribute("data-badge"), "paused");
        assertEquals(badge(later.id)?.getAttribute("data-badge"), "scheduled");
        assertMatch(badge(later.id)?.textContent ?? "", /scheduled · in 3 h/);
        assertEquals(badge(free.id)?.getAttribute("data-badge"), "pending");
        // The filter bar offers the queues; filtered, the list holds that queue's jobs only.
        const offered = [...doc.querySelectorAll("[data-filter=queue] input[name=queue]")]
          .map((i) => i.getAttribute("value"));
        assertEquals(offered, ["default", "reports"]);
        const only = htmlOf(await (await app.call("/jobs?queue=reports")).text());
        assertEquals(only.querySelector(`a[href="/jobs/${free.id}"]`), null);
        assert(only.querySelector(`a[href="/jobs/${held.id}"]`), "a reports job is listed");
        await setQueue(app, "reports", { paused: false });
        const after = htmlOf(await (await app.call("/jobs")).text());
        const row = after.querySelector(`a[href="/jobs/${held.id}"]`)?.closest("tr");
        assertEquals(row?.querySelector("[data-badge]")?.getAttribute("data-badge"), "pending");
      }),
  );
});

Deno.test("explain: the checks' order (unit)", () => {
  const base = {
    status: "pending",
    queue: "q",
    attempts: 0,
    max_attempts: 3,
    scheduled_for: new Date(0),
    expires_at: null,
    locked_by: null,
    started_at: null,
    completed_at: null,
    now: new Date(1000),
    paused: false,
    concurrency: null,
    running: 0,
    serving: 1,
    ahead: 0,
  };
  assertEquals(reasonOf(base).code, "ready");
  assertEquals(reasonOf({ ...base, ahead: 20_000 }).details.ahead, 10_001);
  assertMatch(reasonOf({ ...base, ahead: 20_000 }).message, /^More than 10,000 due jobs/);
  assertEquals(reasonOf({ ...base, serving: 0, ahead: 3 }).code, "no_worker");
  assertEquals(
    reasonOf({ ...base, concurrency: 2, running: 2, serving: 0 }).code,
    "queue_at_limit",
  );
  assertEquals(reasonOf({ ...base, concurrency: 2, running: 1 }).code, "ready");
  assertEquals(
    reasonOf({ ...base, paused: true, concurrency: 1, running: 1 }).code,
    "queue_paused",
  );
  assertEquals(reasonOf({ ...base, paused: null, serving: 0 }).code, "no_worker");
  const later = { ...base, scheduled_for: new Date(5000), paused: true };
  assertEquals(reasonOf(later).code, "scheduled");
  assertEquals(reasonOf({ ...later, attempts: 1 }).code, "retry_backoff");
  assertEquals(reasonOf({ ...later, expires_at: new Date(500) }).code, "expired");
  assertEquals(reasonOf({ ...later, expires_at: new Date(9000) }).code, "scheduled");
});
