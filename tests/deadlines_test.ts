/**
 * Timeouts and deadlines: `timeout_seconds` bounds one attempt in place of
 * the type's timeout; a job whose `expires_at` has passed is never claimed
 * and ends `cancelled` with an `expired` event (the expirer, one process at
 * a time, within about a second when workers run). Strict validation.
 */
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { openApp } from "./_helpers/app.ts";
import { createTestDb } from "./_helpers/db.ts";
import { waitFor } from "./_helpers/faults.ts";
import { settled, TEST_HANDLERS, testSupervisor } from "./_helpers/worker_sup.ts";
import { EXPIRER_LOCK_KEY } from "../lib/queue/lock_keys.ts";
import { events, jobs } from "../lib/queue/mod.ts";
import { Expirer } from "../worker/services/expirer.ts";
import { jobEventResponse, jobResponse } from "../lib/api_schemas.ts";
import { z } from "zod";
import { setupService } from "./_helpers/worker_services.ts";

type Issues = { error: { code: string; issues: { path: string; message: string }[] } };

const note = (extra: Record<string, unknown> = {}) => ({
  type: "notification",
  payload: { user_id: "u1", channel: "push", message: "hi" },
  ...extra,
});

Deno.test("deadlines over the API: stored as given, strict validation naming the field", async (t) => {
  const app = await openApp();
  try {
    await t.step(
      "timeout_seconds and expires_at are stored; a past expires_at is accepted",
      async () => {
        const res = await app.post(
          "/api/jobs",
          note({ timeout_seconds: 90, expires_at: "2030-01-02T03:04:05+02:00" }),
        );
        assertEquals(res.status, 201);
        const job = await bodyJson(res);
        assertEquals([job.timeout_seconds, job.expires_at], [90, "2030-01-02T01:04:05.000Z"]);
        const past = await app.post("/api/jobs", note({ expires_at: "2001-01-01T00:00:00Z" }));
        assertEquals(past.status, 201);
        // Expired at once: its timeline, as the API shows it, has the documented `expired` event.
        const pastId = (await bodyJson(past)).id as string;
        await jobs.expirePass(app.db.sql);
        const shown = await bodyJson(await app.call(`/api/jobs/${pastId}`));
        const doc = jobResponse.extend({ events: z.array(jobEventResponse) }).parse(shown);
        assertEquals([doc.status, doc.events.map((e) => e.kind)], ["cancelled", [
          "created",
          "expired",
        ]]);
        const none = await bodyJson(await app.post("/api/jobs", note()));
        assertEquals([none.timeout_seconds, none.expires_at], [null, null]);
        const batch = await bodyJson<{ items: Record<string, unknown>[] }>(
          await app.post("/api/jobs/batch", {
            jobs: [note({ timeout_seconds: 5 }), note({ expires_at: "2031-05-06T07:08:09Z" })],
          }),
        );
        assertEquals(batch.items.map((j) => [j.timeout_seconds, j.expires_at]), [
          [5, null],
          [null, "2031-05-06T07:08:09.000Z"],
        ]);
      },
    );

    await t.step("bad values are 422 with the field's path, and nothing is stored", async () => {
      const [{ before }] = await app.db.sql<{ before: number }[]>`
        SELECT count(*)::int AS before FROM job`;
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ timeout_seconds: 0 }, "timeout_seconds", /at least 1/],
        [{ timeout_seconds: 86_401 }, "timeout_seconds", /at most 86400/],
        [{ timeout_seconds: "30" }, "timeout_seconds", /whole number of seconds/],
        [{ timeout_seconds: 1.5 }, "timeout_seconds", /whole number of seconds/],
        [{ expires_at: "tomorrow" }, "expires_at", /expires_at must be an ISO 8601 date-time/],
        [{ expires_at: "2030-01-01T00:00:00" }, "expires_at", /ISO 8601/],
        [{ expires_at: 1_700_000_000 }, "expires_at", /ISO 8601/],
        [{ expires_at: "0000-01-01T00:00:00Z" }, "expires_at", /^expires_at: year 0000/],
      ];
      for (const [extra, path, re] of cases) {
        const res = await app.post("/api/jobs", note(extra));
        assertEquals(res.status, 422, JSON.stringify(extra));
        const issue = (await bodyJson<Issues>(res)).error.issues[0];
        assertEquals(issue.path, path);
        assertMatch(issue.message, re);
      }
      const batch = await app.post("/api/jobs/batch", {
        jobs: [note(), note({ timeout_seconds: -1, expires_at: "soon" })],
      });
      assertEquals(batch.status, 422);
      const paths = (await bodyJson<Issues>(batch)).error.issues.map((i) => i.path).sort();
      assertEquals(paths, ["jobs.1.expires_at", "jobs.1.timeout_seconds"]);
      const [{ after }] = await app.db.sql<{ after: number }[]>`
        SELECT count(*)::int AS after FROM job`;
      assertEquals(after, before);
    });

    await t.step("the form takes them too: 422 naming the field, else 303 to the job", async () => {
      const form = (fields: Record<string, string>) =>
        app.call("/jobs/new", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            type: "notification",
            user_id: "u1",
            channel: "push",
            message: "from the form",
            ...fields,
          }),
        });
      const bad = await form({ timeout_seconds: "0", expires_at: "not a time" });
      assertEquals(bad.status, 422);
      const html = await bad.text();
      assertMatch(html, /Timeout[^<]*at least 1/);
      assertMatch(html, /Expires at[^<]*ISO 8601/);
      const ok = await form({
        timeout_seconds: "45",
        expires_at: "2030-06-01T12:30",
        unique_key: "form:1",
      });
      assertEquals(ok.status, 303);
      const id = ok.headers.get("location")?.match(/\/jobs\/([0-9a-f-]{36})/)?.[1] as string;
      const job = await jobs.get(app.db.sql, { id });
      assertEquals(
        [job?.timeout_seconds, job?.expires_at?.toISOString(), job?.unique_key],
        [45, "2030-06-01T12:30:00.000Z", "form:1"],
      );
      const again = await form({ unique_key: "form:1" });
      assertEquals(again.status, 303);
      assertEquals(again.headers.get("location"), `/jobs/${id}?done=existed`);
    });
  } finally {
    await app.close();
  }
});

Deno.test("deadlines in the queue core: expired jobs are never claimed and end cancelled", async () => {
  const db = await createTestDb();
  try {
    const now = new Date("2026-01-15T12:00:00.000Z");
    const soon = new Date(now.getTime() + 60_000);
    const gone = await jobs.enqueue(db.sql, {
      job: { ...note(), expires_at: new Date(now.getTime() - 1) },
      now,
    });
    const live = await jobs.enqueue(db.sql, { job: { ...note(), expires_at: soon }, now });
    const plain = await jobs.enqueue(db.sql, { job: note(), now });
    const got = await jobs.claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 30, now });
    assertEquals(got.map((j) => j.id).sort(), [live.id, plain.id].sort());
    assertEquals((await jobs.get(db.sql, { id: gone.id }))?.status, "pending");

    // Another process holds the expirer's turn: this pass does nothing.
    const conn = await db.sql.reserve();
    await conn`BEGIN`;
    await conn`SELECT pg_advisory_xact_lock(${EXPIRER_LOCK_KEY})`;
    assertEquals(await jobs.expirePass(db.sql, { now }), { ran: false, expired: [] });
    await conn`COMMIT`;
    conn.release();

    const pass = await jobs.expirePass(db.sql, { now });
    assertEquals([pass.ran, pass.expired.map((e) => e.id)], [true, [gone.id]]);
    const row = await jobs.getWithEvents(db.sql, { id: gone.id });
    assertEquals(row?.status, "cancelled");
    assertEquals(row?.events.map((e) => e.kind), ["created", "expired"]);
    assertMatch(
      row?.events[1].message ?? "",
      /not started by its deadline 2026-01-15 11:59:59 UTC/,
    );
    assertEquals(await events.countKind(db.sql, { kind: "claimed" }), 2, "never claimed");
    // A processing job past its deadline runs on; only pending jobs expire.
    assertEquals(
      (await jobs.expireDue(db.sql, { now: new Date(soon.getTime() + 1) })).map((e) => e.id),
      [],
    );
  } finally {
    await db.drop();
  }
});

Deno.test("expirer service: a pass cancels what expired and reports the ids", async () => {
  const b = await setupService();
  try {
    const job = await jobs.enqueue(b.db.sql, {
      job: { ...note(), expires_at: new Date(Date.now() - 1000) },
    });
    const seen: string[][] = [];
    const svc = new Expirer({
      sql: b.db.sql,
      worker: b.id,
      health: b.health,
      intervalMs: 3_600_000,
      onExpired: (ids) => seen.push(ids),
    });
    assertEquals(await svc.runOnce(), [job.id]);
    assertEquals(seen, [[job.id]]);
    assertEquals(await svc.runOnce(), []);
    svc.stop();
  } finally {
    await b.teardown();
  }
});

Deno.test("worker: the job's timeout_seconds bounds its attempt; expired jobs end promptly", async () => {
  const db = await createTestDb();
  const { sup, dataDir } = await testSupervisor(db.url, { handlersModule: TEST_HANDLERS });
  try {
    // slow_email's type timeout is 60 s; this job allows 1 s.
    const slow = await jobs.enqueue(db.sql, {
      job: { type: "slow_email", payload: { ms: 10_000 }, max_attempts: 1, timeout_seconds: 1 },
    });
    const expiring = await jobs.enqueue(db.sql, {
      job: {
        type: "noop",
        payload: {},
        scheduled_for: new Date(Date.now() + 3_600_000),
        expires_at: new Date(Date.now() + 1000),
      },
    });
    const done = settled(sup, slow.id, 30_000);
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await done;
    const failed = await jobs.get(db.sql, { id: slow.id });
    assertEquals(failed?.status, "failed");
    assertMatch(failed?.error ?? "", /^timed out after 1 s/);

    await waitFor(
      async () => (await jobs.get(db.sql, { id: expiring.id }))?.status === "cancelled" || null,
      { timeoutMs: 20_000, what: "the expirer cancels the expired job" },
    );
    const row = await jobs.getWithEvents(db.sql, { id: expiring.id });
    assertEquals(row?.events.map((e) => e.kind), ["created", "expired"]);
    assert(row?.started_at === null, "never started");
  } finally {
    await sup.stop();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
