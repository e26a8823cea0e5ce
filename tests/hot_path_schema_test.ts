/**
 * The hot path's lighter schema (migrations 0014 and 0015) keeps what users
 * rely on: the name rules of `type` and `queue` still refuse a bad name, on
 * create and on edit; the trend's `created` counts stay exact when a
 * statement moves `created_at`; and upgrading a database that holds
 * completed, failed, rescued and running jobs leaves every timeline, count
 * and trend bucket as it was, with claims and completions exact afterwards.
 */
import { adminUrl, createTestDb, type TestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { statusCounts } from "./_helpers/faults.ts";
import { assertEquals, assertRejects } from "./_helpers/assert.ts";
import { events, jobs, stats } from "../lib/queue/mod.ts";
import { migrate, readMigrations } from "../lib/migrate.ts";
import { openPool, type Sql, withDatabase } from "../lib/db.ts";

const LEASE = 30;
const RETRY = { baseMs: 1, maxMs: 1 };
const NOW = new Date("2026-01-15T12:00:00.000Z");

/** The trend's created/completed/failed per minute, from the rows. */
async function directTrend(sql: Sql): Promise<{ bucket: Date; kind: string; n: number }[]> {
  return await sql`
    SELECT bucket, kind, count(*)::int AS n FROM (
      SELECT date_trunc('minute', created_at, 'UTC') AS bucket, 'created' AS kind FROM job
      UNION ALL
      SELECT date_trunc('minute', completed_at, 'UTC'), 'completed' FROM job
      WHERE completed_at IS NOT NULL
      UNION ALL
      SELECT date_trunc('minute', updated_at, 'UTC'), 'failed' FROM job WHERE status = 'failed'
    ) AS c GROUP BY 1, 2 ORDER BY 1, 2`;
}

/** The maintained trend counts per minute (base rows plus pending deltas). */
async function storedTrend(sql: Sql): Promise<{ bucket: Date; kind: string; n: number }[]> {
  return await sql`
    SELECT bucket, kind, sum(n)::int AS n FROM (
      SELECT bucket, kind, n FROM job_trend_count
      UNION ALL
      SELECT bucket, kind, n FROM job_trend_delta
    ) AS c GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2`;
}

async function assertCountsExact(sql: Sql, label: string): Promise<void> {
  const counts = await stats.counts(sql);
  const byStatus = await statusCounts(sql);
  const direct: Record<string, number> = {
    ...byStatus,
    total: Object.values(byStatus).reduce((a, n) => a + n, 0),
  };
  for (const k of Object.keys(direct)) {
    assertEquals((counts as unknown as Record<string, number>)[k], direct[k], `${label}: ${k}`);
  }
  assertEquals(await storedTrend(sql), await directTrend(sql), `${label}: trend rows`);
}

Deno.test({
  name: "hot path schema: a bad type or queue name is refused on create and on edit",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db: TestDb = await createTestDb();
    try {
      const sql = db.sql;
      const bad = { code: "23514" };
      for (const type of ["Email", "1email", "e-mail", "x".repeat(64)]) {
        const err = await assertRejects(() => insertJob(sql, { type }));
        assertEquals((err as { code?: string }).code, bad.code, `type ${type}`);
      }
      const job = await insertJob(sql, { type: "email" });
      for (const queue of ["Default", "-q", "q q", "q".repeat(64)]) {
        const err = await assertRejects(() =>
          sql`INSERT INTO job (type, queue) VALUES ('email', ${queue})`
        );
        assertEquals((err as { code?: string }).code, bad.code, `new job in queue ${queue}`);
        const moved = await assertRejects(() =>
          sql`UPDATE job SET queue = ${queue} WHERE id = ${job.id}`
        );
        assertEquals((moved as { code?: string }).code, bad.code, `move to queue ${queue}`);
      }
      // Good names pass, a move registers its queue, and the job can run.
      await sql`UPDATE job SET queue = 'mail-2' WHERE id = ${job.id}`;
      const [q] = await sql<
        { n: number }[]
      >`SELECT count(*)::int AS n FROM queue WHERE name = 'mail-2'`;
      assertEquals(q.n, 1);
      const [claimed] = await jobs.claim(sql, { worker: "w", leaseSeconds: LEASE, limit: 1 });
      assertEquals(claimed.id, job.id);
      assertEquals(claimed.queue, "mail-2");
      const done = await jobs.complete(sql, { id: job.id, attempt: 1, worker: "w", result: 1 });
      assertEquals(done?.status, "completed");
      assertEquals(typeof done?.type, "string");
      await assertCountsExact(sql, "after the edits");
    } finally {
      await db.drop();
    }
  },
});

Deno.test({
  name: "hot path schema: statements that move created_at keep the trend's created counts exact",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db: TestDb = await createTestDb();
    try {
      const sql = db.sql;
      for (let i = 0; i < 12; i++) {
        await insertJob(sql, { created_at: new Date(NOW.getTime() - i * 7 * 60_000) });
      }
      await jobs.claim(sql, { worker: "w", leaseSeconds: LEASE, limit: 6, now: NOW });
      // One statement moves created_at of running and pending jobs and completes the running ones.
      await sql`
        UPDATE job SET created_at = created_at - interval '95 minutes',
          status = CASE WHEN status = 'processing' THEN 'completed' ELSE status END,
          completed_at = CASE WHEN status = 'processing' THEN ${NOW}::timestamptz END,
          locked_by = NULL, locked_until = NULL
        WHERE id IN (SELECT id FROM job ORDER BY created_at LIMIT 9)`;
      await assertCountsExact(sql, "after a move with completions");
      await sql`UPDATE job SET created_at = created_at + interval '3 hours' WHERE status = 'pending'`;
      await assertCountsExact(sql, "after a move of pending jobs");
      await sql`SELECT job_trend_compact()`;
      await assertCountsExact(sql, "after a compaction");
    } finally {
      await db.drop();
    }
  },
});

Deno.test({
  name:
    "hot path schema: upgrading keeps completed, failed, rescued and running jobs' timelines and counts",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const all = await readMigrations();
    const first = all.findIndex((m) => m.name === "0014_hot_path_checks.sql");
    const earlier = await Deno.makeTempDir();
    // Today's claim reads through 0021's functions, the rescue reads 0022's
    // runner marks and timelines are read through 0023's view: the older
    // schema gets them too.
    const claimPlan = all.filter((m) =>
      ["0021_claim_open_queues.sql", "0022_runner_marks.sql", "0023_created_from_row.sql"]
        .includes(m.name)
    );
    for (const m of [...all.slice(0, first), ...claimPlan]) {
      await Deno.writeTextFile(`${earlier}/${m.name}`, m.sql);
    }
    const name = `jobq_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const admin = openPool(await adminUrl(), { max: 1 });
    await admin`CREATE DATABASE ${admin(name)}`;
    const sql = openPool(withDatabase(await adminUrl(), name), { max: 2 });
    let after: Sql | null = null;
    try {
      await migrate(sql, { dir: earlier, quiet: true });
      const t = (s: number) => new Date(NOW.getTime() + s * 1000);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const j = await insertJob(sql, {
          type: i % 2 ? "report" : "email",
          created_at: t(-600 + i),
          max_attempts: i === 1 ? 1 : 3,
        });
        ids.push(j.id);
      }
      await sql`UPDATE job SET queue = 'mail' WHERE id = ${ids[3]}`;
      const claimed = await jobs.claim(sql, {
        worker: "w1",
        leaseSeconds: LEASE,
        limit: 4,
        now: t(0),
      });
      assertEquals(claimed.length, 4);
      const attempt = (id: string) => claimed.find((j) => j.id === id)!.attempts;
      // 0 completed, 1 failed for good, 2 rescued (its worker died), 3 still running.
      await jobs.complete(sql, {
        id: ids[0],
        attempt: attempt(ids[0]),
        worker: "w1",
        result: { ok: 1 },
        now: t(1),
      });
      await jobs.fail(sql, {
        id: ids[1],
        attempt: attempt(ids[1]),
        worker: "w1",
        error: new Error("boom"),
        retry: RETRY,
        now: t(2),
      });
      await sql`UPDATE job SET locked_until = ${t(3)} WHERE id = ${ids[2]}`;
      const rescued = await jobs.rescueExpired(sql, { now: t(20) });
      assertEquals(rescued.map((r) => r.id), [ids[2]]);
      const before = [];
      for (const id of ids) before.push(await jobs.getWithEvents(sql, { id }));
      const countsBefore = await stats.counts(sql);
      const trendBefore = await storedTrend(sql);

      assertEquals(
        await migrate(sql, { quiet: true }),
        all.slice(first).filter((m) => !claimPlan.includes(m)).map((m) => m.name),
      );
      // A process started after the upgrade (the statements `sql` prepared
      // describe the columns as they were).
      after = openPool(withDatabase(await adminUrl(), name), { max: 2 });

      for (const [i, id] of ids.entries()) {
        assertEquals(
          await jobs.getWithEvents(after, { id }),
          before[i],
          `job ${i} after the upgrade`,
        );
      }
      assertEquals(await stats.counts(after), countsBefore);
      assertEquals(await storedTrend(after), trendBefore);
      await assertCountsExact(after, "after the upgrade");

      // The running job completes on the new schema; the rescued one runs again.
      const done = await jobs.complete(after, {
        id: ids[3],
        attempt: attempt(ids[3]),
        worker: "w1",
        result: 2,
        now: t(70),
      });
      assertEquals(done?.status, "completed");
      const again = await jobs.claim(after, {
        worker: "w2",
        leaseSeconds: LEASE,
        limit: 4,
        now: t(80),
      });
      assertEquals(again.map((j) => j.id), [ids[2]]);
      await jobs.complete(after, {
        id: ids[2],
        attempt: again[0].attempts,
        worker: "w2",
        result: 3,
        now: t(81),
      });
      const kinds = (await events.list(after, { jobId: ids[2] })).map((e) =>
        `${e.kind}:${e.attempt}:${e.worker}`
      );
      assertEquals(kinds, [
        "created:0:null",
        "claimed:1:w1",
        "rescued:1:w1",
        "claimed:2:w2",
        "completed:2:w2",
      ]);
      await assertCountsExact(after, "after the runs on the new schema");
    } finally {
      await sql.end({ timeout: 5 });
      await after?.end({ timeout: 5 });
      await admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`;
      await admin.end();
      await Deno.remove(earlier, { recursive: true });
    }
  },
});
