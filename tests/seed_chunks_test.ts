/**
 * `lib/queue/seed.ts` in chunks on several connections: the maintained
 * status counts, trend counts and search rows agree with the job table
 * afterwards, and a failure in one connection keeps nothing of any.
 */
import { seed } from "../lib/queue/seed.ts";
import { createTestDb } from "./_helpers/db.ts";
import { assertEquals, assertRejects } from "./_helpers/assert.ts";

Deno.test("seed in chunks (one database, a step per case)", async (t) => {
  const db = await createTestDb({ max: 4 });
  const sql = db.sql;
  try {
    await t.step(
      "seed: counts, trend and search agree with the job table after a chunked seed on two connections",
      async () => {
        const r = await seed(sql, { count: 2_500, spreadDays: 7, chunk: 300, connections: 2 });
        assertEquals(r.jobs, 2_500);
        const [{ jobs, events }] = await sql<{ jobs: number; events: number }[]>`
          SELECT (SELECT count(*)::int FROM job) AS jobs,
                 (SELECT count(*)::int FROM job_event) AS events`;
        assertEquals(jobs, 2_500);
        assertEquals(events, r.events);

        // Status counts: base plus pending deltas, per (status, type).
        const countDiff = await sql`
          (SELECT status, type, count(*) AS n FROM job GROUP BY 1, 2
           EXCEPT
           SELECT status, type, sum(n) FROM (
             SELECT status, type, n FROM job_status_count
             UNION ALL SELECT status, type, n FROM job_status_delta) c
           GROUP BY 1, 2 HAVING sum(n) <> 0)
          UNION ALL
          (SELECT status, type, sum(n) FROM (
             SELECT status, type, n FROM job_status_count
             UNION ALL SELECT status, type, n FROM job_status_delta) c
           GROUP BY 1, 2 HAVING sum(n) <> 0
           EXCEPT
           SELECT status, type, count(*) FROM job GROUP BY 1, 2)`;
        assertEquals(countDiff.length, 0, `status counts differ: ${JSON.stringify(countDiff)}`);

        // Trend counts per minute and per hour, as the rows say.
        const expected = sql`
          SELECT bucket, kind, count(*) AS n FROM (
            SELECT date_trunc('minute', created_at, 'UTC') AS bucket, 'created' AS kind FROM job
            UNION ALL
            SELECT date_trunc('minute', completed_at, 'UTC'), 'completed' FROM job
            WHERE completed_at IS NOT NULL
            UNION ALL
            SELECT date_trunc('minute', updated_at, 'UTC'), 'failed' FROM job
            WHERE status = 'failed') c
          GROUP BY 1, 2`;
        const minutes = sql`
          SELECT bucket, kind, sum(n) AS n FROM (
            SELECT bucket, kind, n FROM job_trend_count
            UNION ALL SELECT bucket, kind, n FROM job_trend_delta) c
          GROUP BY 1, 2 HAVING sum(n) <> 0`;
        const minuteDiff = await sql`
          (${expected} EXCEPT ${minutes}) UNION ALL (${minutes} EXCEPT ${expected})`;
        assertEquals(minuteDiff.length, 0, `trend minutes differ: ${JSON.stringify(minuteDiff)}`);
        const hoursExpected = sql`
          SELECT date_trunc('hour', bucket, 'UTC') AS bucket, kind, sum(n) AS n
          FROM (${expected}) e GROUP BY 1, 2`;
        const hours = sql`
          SELECT bucket, kind, sum(n) AS n FROM (
            SELECT bucket, kind, n FROM job_trend_hour_count
            UNION ALL
            SELECT date_trunc('hour', bucket, 'UTC'), kind, n FROM job_trend_delta) c
          GROUP BY 1, 2 HAVING sum(n) <> 0`;
        const hourDiff = await sql`
          (${hoursExpected} EXCEPT ${hours}) UNION ALL (${hours} EXCEPT ${hoursExpected})`;
        assertEquals(hourDiff.length, 0, `trend hours differ: ${JSON.stringify(hourDiff)}`);

        // One search row per job, with the job's queue and payload values.
        const searchDiff = await sql`
          SELECT j.id FROM job j FULL JOIN job_search s ON s.job_id = j.id
          WHERE j.id IS NULL OR s.job_id IS NULL OR s.queue IS DISTINCT FROM j.queue
             OR s.body IS DISTINCT FROM jobq_search_text(j.payload)`;
        assertEquals(searchDiff.length, 0, `search rows differ for ${searchDiff.length} jobs`);

        // Both transactions' deltas are folded: readers start with none.
        const [{ deltas }] = await sql<{ deltas: number }[]>`
          SELECT (SELECT count(*) FROM job_trend_delta)::int
            + (SELECT count(*) FROM job_status_delta)::int AS deltas`;
        assertEquals(deltas, 0);
      },
    );

    await t.step(
      "seed: a chunk failing on one connection keeps nothing of any connection",
      async () => {
        await sql`DELETE FROM job_event`;
        await sql`DELETE FROM job`;
        // The newest finished jobs (the last chunk) break this constraint.
        await sql`ALTER TABLE job ADD CONSTRAINT seed_test_old_only
          CHECK (status <> 'completed' OR created_at < now() - interval '1 day') NOT VALID`;
        try {
          await assertRejects(
            () => seed(sql, { count: 2_000, spreadDays: 7, chunk: 250, connections: 2 }),
            Error,
            "seed_test_old_only",
          );
        } finally {
          await sql`ALTER TABLE job DROP CONSTRAINT seed_test_old_only`;
        }
        const [{ jobs, events, search }] = await sql<
          { jobs: number; events: number; search: number }[]
        >`
          SELECT (SELECT count(*)::int FROM job) AS jobs,
                 (SELECT count(*)::int FROM job_event) AS events,
                 (SELECT count(*)::int FROM job_search) AS search`;
        assertEquals({ jobs, events, search }, { jobs: 0, events: 0, search: 0 });
      },
    );

    await t.step("seed: rejects a chunk or connection count out of range", async () => {
      await assertRejects(
        () => seed(sql, { count: 10, spreadDays: 7, chunk: 0 }),
        RangeError,
        "chunk",
      );
      await assertRejects(
        () => seed(sql, { count: 10, spreadDays: 7, connections: 1.5 }),
        RangeError,
        "connections",
      );
    });
  } finally {
    await db.drop();
  }
});
