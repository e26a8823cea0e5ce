/** The JSON API over real HTTP: every endpoint's happy path and its error statuses. */
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { bodyJson, snapshot } from "./_helpers/api_server.ts";
import { openApp } from "./_helpers/app.ts";
import { insertJob } from "./_helpers/factory.ts";
import { artifacts } from "../lib/queue/mod.ts";

const EMAIL = { to: "ada@example.com", subject: "Hello", body: "Hi Ada" };
const REPORT = {
  report_type: "job_summary",
  format: "csv",
  date_range: { from: "2026-11-01", to: "2026-11-30" },
};
const JOB_KEYS = [
  "attempts",
  "cancel_requested_at",
  "completed_at",
  "created_at",
  "error",
  "expires_at",
  "id",
  "locked_by",
  "locked_until",
  "max_attempts",
  "payload",
  "priority",
  "progress",
  "queue",
  "result",
  "scheduled_for",
  "started_at",
  "status",
  "timeout_seconds",
  "type",
  "unique_key",
  "updated_at",
];

type Json = Record<string, unknown>;

async function expectError(res: Response, status: number, code?: string): Promise<Json> {
  const body = await bodyJson<{ error: Json }>(res);
  assertEquals(res.status, status, JSON.stringify(body));
  assert(typeof body.error?.code === "string" && typeof body.error?.message === "string");
  if (code) assertEquals(body.error.code, code);
  return body.error;
}

Deno.test("api: every endpoint, in-process", async (t) => {
  const s = await openApp({ RETRY_BASE_MS: "1000", RETRY_MAX_MS: "5000" });
  try {
    await t.step("POST /api/jobs creates a job: 201, Location, the stored row", async () => {
      const res = await s.post("/api/jobs", { type: "email", payload: EMAIL, priority: 5 });
      const job = await bodyJson(res);
      assertEquals(res.status, 201);
      assertEquals(res.headers.get("location"), `/api/jobs/${job.id}`);
      assertEquals(Object.keys(job).sort(), JOB_KEYS);
      assertEquals(job.status, "pending");
      assertEquals(job.priority, 5);
      assertEquals(job.payload, EMAIL);
      assertEquals(job.max_attempts, 3);
    });

    await t.step("POST /api/jobs: every field issue in one 422", async () => {
      const res = await s.post("/api/jobs", {
        type: "email",
        payload: { to: "nope", subject: "", body: 5 },
        priority: 9,
      });
      const err = await expectError(res, 422, "validation_failed");
      const paths = (err.issues as { path: string }[]).map((i) => i.path).sort();
      assertEquals(paths, ["payload.body", "payload.subject", "payload.to", "priority"]);
    });

    await t.step("GET /api/jobs filters (repeated = any of), sorts, pages", async () => {
      await s.db.sql`DELETE FROM job`;
      await insertJob(s.db.sql, { status: "failed", priority: 1, payload: { needle: "zebra" } });
      await insertJob(s.db.sql, { status: "completed", priority: 2 });
      await insertJob(s.db.sql, { status: "pending", priority: 4, type: "notification" });
      await insertJob(s.db.sql, { status: "cancelled", priority: 3 });
      const all = await bodyJson<{ items: Json[]; total: number; limit: number; offset: number }>(
        await s.call("/api/jobs"),
      );
      assertEquals([all.total, all.limit, all.offset, all.items.length], [4, 20, 0, 4]);
      const some = await bodyJson<{ items: Json[]; total: number }>(
        await s.call("/api/jobs?status=failed&status=completed&sort=priority&order=asc"),
      );
      assertEquals(some.items.map((j) => j.priority), [1, 2]);
      const comma = await bodyJson<{ total: number }>(
        await s.call("/api/jobs?status=failed,pending"),
      );
      assertEquals(comma.total, 2);
      const byType = await bodyJson<{ items: Json[] }>(await s.call("/api/jobs?type=notification"));
      assertEquals(byType.items.map((j) => j.type), ["notification"]);
      const byPrio = await bodyJson<{ total: number }>(
        await s.call("/api/jobs?priority=3&priority=4"),
      );
      assertEquals(byPrio.total, 2);
      const q = await bodyJson<{ items: Json[] }>(await s.call("/api/jobs?q=ZEBRA"));
      assertEquals(q.items.map((j) => j.status), ["failed"]);
      const page = await bodyJson<{ items: Json[]; total: number; limit: number; offset: number }>(
        await s.call("/api/jobs?limit=1&offset=1&sort=priority&order=desc"),
      );
      assertEquals([page.total, page.limit, page.offset, page.items[0].priority], [4, 1, 1, 3]);
    });

    await t.step("GET /api/jobs: bad filters are 422", async () => {
      for (
        const qs of [
          "status=nope",
          "sort=id",
          "order=up",
          "limit=0",
          "limit=101",
          "limit=abc",
          "offset=-1",
          "priority=6",
          "type=fax",
          "bogus=1",
          "limit=1&limit=2",
        ]
      ) {
        await expectError(await s.call(`/api/jobs?${qs}`), 422, "validation_failed");
      }
    });

    await t.step("GET /api/jobs/:id has the events; unknown or malformed id is 404", async () => {
      const job = await insertJob(s.db.sql, { status: "pending" });
      const res = await s.call(`/api/jobs/${job.id}`);
      const body = await bodyJson<Json & { events: Json[] }>(res);
      assertEquals(res.status, 200);
      assertEquals(body.id, job.id);
      assertEquals(body.events.map((e) => e.kind), ["created"]);
      await expectError(
        await s.call("/api/jobs/00000000-0000-4000-8000-000000000000"),
        404,
        "job_not_found",
      );
      await expectError(await s.call("/api/jobs/not-a-uuid"), 404, "job_not_found");
      await expectError(await s.call("/api/jobs/1%27%20OR%201=1"), 404, "job_not_found");
    });

    await t.step(
      "DELETE /api/jobs/:id cancels a pending job; 409 otherwise; 404 unknown",
      async () => {
        const job = await insertJob(s.db.sql, { status: "pending" });
        const res = await s.call(`/api/jobs/${job.id}`, { method: "DELETE" });
        assertEquals(res.status, 200);
        assertEquals((await bodyJson(res)).status, "cancelled");
        await expectError(
          await s.call(`/api/jobs/${job.id}`, { method: "DELETE" }),
          409,
          "job_not_pending",
        );
        await expectError(
          await s.call("/api/jobs/00000000-0000-4000-8000-000000000000", { method: "DELETE" }),
          404,
        );
      },
    );

    await t.step("POST /api/jobs/:id/retry: failed/cancelled → pending; 409; 404", async () => {
      const failed = await insertJob(s.db.sql, { status: "failed", attempts: 3 });
      const res = await s.call(`/api/jobs/${failed.id}/retry`, { method: "POST" });
      const body = await bodyJson(res);
      assertEquals([res.status, body.status, body.attempts], [200, "pending", 0]);
      await expectError(
        await s.call(`/api/jobs/${failed.id}/retry`, { method: "POST" }),
        409,
        "job_not_retryable",
      );
      await expectError(
        await s.call("/api/jobs/00000000-0000-4000-8000-000000000000/retry", { method: "POST" }),
        404,
      );
    });

    await t.step("POST /api/jobs/batch stores all (201) or none (422)", async () => {
      await s.db.sql`DELETE FROM job`;
      const jobs = Array.from({ length: 50 }, (_, i) => ({
        type: "email",
        payload: { ...EMAIL, subject: `n${i}` },
      }));
      const res = await s.post("/api/jobs/batch", { jobs });
      const body = await bodyJson<{ items: Json[]; count: number }>(res);
      assertEquals([res.status, body.count, body.items.length], [201, 50, 50]);
      assertEquals((body.items[7].payload as Json).subject, "n7");
      const before = await snapshot(s.db);
      const bad = [...jobs, { type: "email", payload: { ...EMAIL, to: "x" } }, ...jobs];
      const err = await expectError(await s.post("/api/jobs/batch", { jobs: bad }), 422);
      assertEquals((err.issues as Json[])[0].path, "jobs.50.payload.to");
      const tooMany = Array.from({ length: 1001 }, () => jobs[0]);
      await expectError(await s.post("/api/jobs/batch", { jobs: tooMany }), 422);
      await expectError(await s.post("/api/jobs/batch", { jobs: [] }), 422);
      assertEquals(await snapshot(s.db), before);
    });

    await t.step("POST /api/jobs/bulk reports each id; one transaction", async () => {
      const pending = await insertJob(s.db.sql, { status: "pending" });
      const failed = await insertJob(s.db.sql, { status: "failed" });
      const processing = await insertJob(s.db.sql, { status: "processing" });
      const missing = "00000000-0000-4000-8000-000000000001";
      const res = await s.post("/api/jobs/bulk", {
        action: "cancel",
        ids: [pending.id, failed.id, processing.id, missing],
      });
      const body = await bodyJson<{ results: Json[]; summary: Json; action: string }>(res);
      assertEquals(res.status, 200);
      assertEquals(body.action, "cancel");
      assertEquals(body.results.map((r) => [r.outcome, r.status]), [
        ["done", "cancelled"],
        ["conflict", "failed"],
        ["done", "processing"], // a running job is asked to stop
        ["not_found", null],
      ]);
      assertEquals(body.summary, { done: 2, not_found: 1, conflict: 1 });
      const retried = await bodyJson<{ summary: Json }>(
        await s.post("/api/jobs/bulk", { action: "retry", ids: [pending.id, failed.id] }),
      );
      assertEquals(retried.summary, { done: 2, not_found: 0, conflict: 0 });
      const deleted = await bodyJson<{ results: Json[] }>(
        await s.post("/api/jobs/bulk", { action: "delete", ids: [pending.id, processing.id] }),
      );
      assertEquals(deleted.results.map((r) => r.outcome), ["done", "conflict"]);
      const before = await snapshot(s.db);
      await expectError(
        await s.post("/api/jobs/bulk", { action: "delete", ids: [failed.id, "nope"] }),
        422,
      );
      await expectError(
        await s.post("/api/jobs/bulk", { action: "explode", ids: [failed.id] }),
        422,
      );
      assertEquals(await snapshot(s.db), before);
    });

    await t.step("GET /api/jobs/:id/artifact downloads a report's file; 404 without", async () => {
      const job = await insertJob(s.db.sql, {
        type: "report",
        status: "completed",
        payload: REPORT,
      });
      await expectError(await s.call(`/api/jobs/${job.id}/artifact`), 404, "artifact_not_found");
      await artifacts.put(s.db.sql, {
        jobId: job.id,
        filename: "summary.csv",
        contentType: "text/csv",
        bytes: new TextEncoder().encode("a,b\n1,2\n"),
      });
      const res = await s.call(`/api/jobs/${job.id}/artifact`);
      assertEquals(res.status, 200);
      assertEquals(res.headers.get("content-type"), "text/csv");
      assertMatch(res.headers.get("content-disposition")!, /attachment; filename="summary.csv"/);
      assertEquals(await res.text(), "a,b\n1,2\n");
      await expectError(
        await s.call("/api/jobs/00000000-0000-4000-8000-000000000000/artifact"),
        404,
        "job_not_found",
      );
    });

    await t.step("process → complete: 200 job, then 204 when none is due", async () => {
      await s.db.sql`DELETE FROM job`;
      const low = await insertJob(s.db.sql, { status: "pending", priority: 1 });
      const high = await insertJob(s.db.sql, {
        status: "pending",
        priority: 5,
        type: "notification",
      });
      const res = await s.post("/api/process", { worker: "ext-1", types: ["notification"] });
      const job = await bodyJson(res);
      assertEquals([res.status, job.id, job.status, job.locked_by, job.attempts], [
        200,
        high.id,
        "processing",
        "ext-1",
        1,
      ]);
      const fence = { worker: "ext-1", attempt: 1 };
      const done = await s.post(`/api/complete/${high.id}`, { result: { sent: true }, ...fence });
      const body = await bodyJson(done);
      assertEquals([done.status, body.status], [200, "completed"]);
      assertEquals(body.result, { sent: true });
      await expectError(
        await s.post(`/api/complete/${high.id}`, { result: 1, ...fence }),
        409,
        "job_not_processing",
      );
      const none = await s.post("/api/process", { types: ["notification"] });
      assertEquals(none.status, 204);
      const bare = await s.call("/api/process", { method: "POST" });
      assertEquals([bare.status, (await bodyJson(bare)).id], [200, low.id]);
      assertEquals((await s.call("/api/process", { method: "POST" })).status, 204);
    });

    await t.step("complete/fail are fenced on worker and attempt", async () => {
      await s.db.sql`DELETE FROM job`;
      const job = await insertJob(s.db.sql, { status: "pending" });
      await s.post("/api/process", { worker: "ext-2" });
      await expectError(
        await s.post(`/api/complete/${job.id}`, { result: 1, worker: "someone-else", attempt: 1 }),
        409,
        "lease_lost",
      );
      await expectError(
        await s.post(`/api/fail/${job.id}`, { error: "x", worker: "ext-2", attempt: 2 }),
        409,
        "lease_lost",
      );
      const ok = await s.post(`/api/complete/${job.id}`, {
        result: null,
        worker: "ext-2",
        attempt: 1,
      });
      assertEquals(ok.status, 200);
      await expectError(
        await s.post("/api/complete/00000000-0000-4000-8000-000000000000", {
          worker: "ext-2",
          attempt: 1,
        }),
        404,
      );
    });

    await t.step("fail: retry with backoff while attempts remain, then failed", async () => {
      await s.db.sql`DELETE FROM job`;
      const job = await insertJob(s.db.sql, { status: "pending", max_attempts: 2 });
      await s.post("/api/process", { worker: "ext-3" });
      const first = await bodyJson(
        await s.post(`/api/fail/${job.id}`, { error: "smtp down", worker: "ext-3", attempt: 1 }),
      );
      assertEquals([first.status, first.error, first.attempts], ["pending", "smtp down", 1]);
      const delay = Date.parse(first.scheduled_for as string) -
        Date.parse(first.updated_at as string);
      assert(delay >= 500 && delay <= 1000, `backoff ${delay} ms within [base/2, base]`);
      await s.db.sql`UPDATE job SET scheduled_for = now() WHERE id = ${job.id}`;
      await s.post("/api/process", { worker: "ext-3" });
      const last = await bodyJson(
        await s.post(`/api/fail/${job.id}`, {
          error: { code: "E_BOUNCE", detail: "no such user" },
          worker: "ext-3",
          attempt: 2,
        }),
      );
      assertEquals([last.status, last.attempts], ["failed", 2]);
      assertMatch(last.error as string, /E_BOUNCE/);
      await expectError(
        await s.post(`/api/fail/${job.id}`, { error: "again", worker: "ext-3", attempt: 2 }),
        409,
        "job_not_processing",
      );
      await expectError(await s.post(`/api/fail/${job.id}`, {}), 422);
      const events = await bodyJson<{ events: Json[] }>(await s.call(`/api/jobs/${job.id}`));
      assertEquals(events.events.map((e) => e.kind), [
        "created",
        "claimed",
        "failed",
        "claimed",
        "failed",
      ]);
    });

    await t.step("GET /api/stats and /api/stats/trend", async () => {
      await s.db.sql`DELETE FROM job`;
      await insertJob(s.db.sql, { status: "pending" });
      await insertJob(s.db.sql, { status: "failed" });
      const stats = await bodyJson(await s.call("/api/stats"));
      assertEquals(stats, {
        pending: 1,
        processing: 0,
        completed: 0,
        failed: 1,
        cancelled: 0,
        total: 2,
      });
      const trend = await bodyJson<{ points: Json[]; bucket: string; hours: number }>(
        await s.call("/api/stats/trend?hours=3&bucket=minute"),
      );
      assertEquals([trend.hours, trend.bucket, trend.points.length], [3, "minute", 180]);
      assertEquals(trend.points.reduce((n, p) => n + (p.created as number), 0), 2);
      const hourly = await bodyJson<{ points: Json[] }>(await s.call("/api/stats/trend"));
      assertEquals(hourly.points.length, 24);
      await expectError(await s.call("/api/stats/trend?bucket=week"), 422);
      await expectError(await s.call("/api/stats/trend?hours=100&bucket=minute"), 422);
      await expectError(await s.call("/api/stats?x=1"), 422);
    });

    await t.step("health, readiness and metrics", async () => {
      const h = await s.call("/healthz");
      assertEquals([h.status, await bodyJson(h)], [200, { status: "ok" }]);
      const r = await s.call("/readyz");
      assertEquals([r.status, (await bodyJson(r)).status], [200, "ready"]);
      const m = await s.call("/metrics");
      const text = await m.text();
      assertEquals(m.status, 200);
      assertMatch(m.headers.get("content-type")!, /text\/plain/);
      assertMatch(text, /jobq_jobs\{status="pending",type="email"\} 1/);
      assertMatch(text, /jobq_jobs_enqueued_total\{type="email"\} \d+/);
      assertMatch(text, /jobq_jobs_completed_total\{type="\w+"\} \d+/);
      assertMatch(text, /jobq_jobs_failed_total\{type="email",final="true"\} \d+/);
      assertMatch(text, /jobq_job_duration_seconds_bucket\{/);
      assertMatch(
        text,
        /jobq_http_request_duration_seconds_count\{method="GET",route="\/api\/jobs\/:id",status="200"\}/,
      );
    });

    await t.step("unknown route 404 and wrong method 405 in the envelope", async () => {
      await expectError(await s.call("/api/nothing"), 404, "not_found");
      const res = await s.call("/api/jobs", { method: "PUT" });
      assertEquals(res.headers.get("allow"), "GET, POST, HEAD");
      await expectError(res, 405, "method_not_allowed");
      await expectError(await s.call("/api/stats", { method: "POST" }), 405);
    });
  } finally {
    await s.close();
  }
});
