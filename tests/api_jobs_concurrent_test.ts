/**
 * `POST /api/jobs` under concurrency: requests that arrive together are
 * written in shared statements, yet each gets its own committed row and
 * Location, idle workers are notified, bad input among them is a 422 that
 * changes nothing, and a database error caused by one row fails that request
 * alone. A statement is
 * held in flight by a transaction that locks `job` against inserts, so the
 * requests provably share one; the tests wait for conditions, never for time.
 */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { type TestApp, withApp } from "./_helpers/app.ts";
import { allowInserts, refuseInsertsOf, withInsertsBlocked } from "./_helpers/db.ts";
import { waitFor } from "./_helpers/faults.ts";
import type { Sql } from "../lib/db.ts";
import { CHANNEL_NEW_JOBS } from "../lib/queue/notify.ts";

type Json = Record<string, unknown>;

const body = (message: string) => ({
  type: "notification",
  payload: { user_id: "u1", channel: "push", message },
});

const post = (s: TestApp, value: unknown) => s.post("/api/jobs", value);

async function lockWaiters(sql: Sql): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'`;
  return n;
}

/**
 * Sends `first`, waits until its statement waits for the lock, then sends
 * `rest` and waits until the good ones (`queued` of them) wait in the
 * coalescer. Returns every response, in order (`first` first).
 */
async function postTogether(
  s: TestApp,
  first: unknown,
  rest: unknown[],
  queued: number,
): Promise<Response[]> {
  const { db, app } = s;
  let all: Promise<Response>[] = [];
  await withInsertsBlocked(db, async () => {
    all.push(post(s, first));
    await waitFor(async () => (await lockWaiters(db.sql)) >= 1, {
      timeoutMs: 10_000,
      what: "the first request's statement to wait for the lock",
    });
    all = all.concat(rest.map((b) => post(s, b)));
    await waitFor(() => app.enqueuer.waiting === queued, {
      timeoutMs: 10_000,
      what: `${queued} requests waiting in the coalescer (now ${app.enqueuer.waiting})`,
    });
  });
  return await Promise.all(all);
}

async function storedRows(sql: Sql): Promise<{ message: string; id: string; events: number }[]> {
  return await sql<{ message: string; id: string; events: number }[]>`
    SELECT j.payload->>'message' AS message, j.id,
           (SELECT count(*)::int FROM job_timeline e WHERE e.job_id = j.id AND e.kind = 'created') AS events
    FROM job j ORDER BY message`;
}

Deno.test({
  name: "api: concurrent POST /api/jobs share statements, each with its own outcome",
}, async (t) => {
  // Each step has an app and a database of its own.
  await t.step(
    "each request gets its own committed row and Location; bad input among them is a 422",
    () =>
      withApp(async (s) => {
        const { db, app } = s;
        const messages = Array.from({ length: 20 }, (_, i) => `c-${String(i).padStart(2, "0")}`);
        const bad = { type: "notification", payload: { user_id: "u1", channel: "fax" } };
        const before = app.enqueuer.stats;
        let heard = 0;
        const listener = await db.sql.listen(CHANNEL_NEW_JOBS, () => heard++);
        const rest = [...messages.slice(0, 10).map(body), bad, ...messages.slice(10).map(body)];
        const responses = await postTogether(s, body("c-first"), rest, messages.length);
        const statuses = responses.map((r) => r.status);
        assertEquals(statuses.filter((s) => s === 201).length, 21, JSON.stringify(statuses));
        const badRes = responses[11];
        assertEquals(badRes.status, 422);
        const err = (await bodyJson<{ error: Json }>(badRes)).error;
        assertEquals(err.code, "validation_failed");
        const sent = ["c-first", ...messages.slice(0, 10), ...messages.slice(10)];
        const goods = responses.filter((r) => r !== badRes);
        const ids = new Set<string>();
        for (const [i, res] of goods.entries()) {
          const job = await bodyJson(res);
          assertEquals(res.headers.get("location"), `/api/jobs/${job.id}`);
          assertEquals((job.payload as Json).message, sent[i], "each request gets its own row");
          assertEquals(job.status, "pending");
          ids.add(job.id as string);
        }
        assertEquals(ids.size, 21);
        const rows = await storedRows(db.sql);
        assertEquals(rows.map((r) => r.message), [...sent].sort());
        assert(rows.every((r) => ids.has(r.id) && r.events === 1), "one created event per row");
        // The 20 that waited were written by one statement.
        const after = app.enqueuer.stats;
        assertEquals(after.statements - before.statements, 2);
        assertEquals(after.largestBatch, 20);
        // Idle workers are woken: each statement notified as it committed.
        await waitFor(() => heard >= 2, { timeoutMs: 10_000, what: "NOTIFY of the new jobs" });
        await listener.unlisten();
      }),
  );

  await t.step(
    "a database error caused by one row fails that request alone; no row lost or doubled",
    () =>
      withApp(async (s) => {
        const { db } = s;
        await refuseInsertsOf(db.sql, "poison");
        try {
          const messages = Array.from({ length: 8 }, (_, i) => `p-${i}`);
          const rest = [...messages.slice(0, 4), "poison", ...messages.slice(4)].map(body);
          const responses = await postTogether(s, body("p-first"), rest, rest.length);
          const poisoned = responses[5];
          assertEquals(poisoned.status, 500);
          assertEquals((await bodyJson<{ error: Json }>(poisoned)).error.code, "internal_error");
          const sent = ["p-first", ...messages];
          const goods = responses.filter((r) => r !== poisoned);
          for (const [i, res] of goods.entries()) {
            const job = await bodyJson(res);
            assertEquals(res.status, 201, JSON.stringify(job));
            assertEquals((job.payload as Json).message, sent[i]);
          }
          const rows = await storedRows(db.sql);
          assertEquals(rows.map((r) => r.message), [...sent].sort());
          assert(rows.every((r) => r.events === 1), "one created event per row");
        } finally {
          await allowInserts(db.sql);
        }
      }),
  );
});
