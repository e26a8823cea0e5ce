/**
 * The incrementally maintained trend counts (migration 0004) stay exact: the
 * trend read from them equals a count over the job rows after every kind of
 * state change, under concurrent writers, across rollbacks, compactions and
 * TRUNCATE; and the migration counts the rows that were already there.
 */
import { adminUrl, createTestDb, fixedClock, seededRandom, type TestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assertEquals } from "./_helpers/assert.ts";
import { bulk, jobs, stats } from "../lib/queue/mod.ts";
import { pruneBatch } from "../lib/queue/prune.ts";
import { migrate, readMigrations } from "../lib/migrate.ts";
import { openPool, type Sql, withDatabase } from "../lib/db.ts";

const LEASE = 30;
const RETRY = { baseMs: 1, maxMs: 1 };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The trend as a count over the job rows: what `stats.trend` answered
 * before the maintained counts existed.
 */
async function directTrend(sql: Sql, opts: {
  hours: number;
  bucket: "minute" | "hour";
  now: Date;
}): Promise<stats.TrendPoint[]> {
  const t = sql`${opts.now}::timestamptz`;
  const step = opts.bucket === "minute" ? "1 minute" : "1 hour";
  const unit = opts.bucket;
  const lo =
    sql`date_trunc(${unit}, ${t} - make_interval(hours => ${opts.hours})) + ${step}::interval`;
  const end = sql`date_trunc(${unit}, ${t}) + ${step}::interval`;
  return await sql<stats.TrendPoint[]>`
    WITH buckets AS (
      SELECT generate_series(${lo}, date_trunc(${unit}, ${t}), ${step}::interval) AS bucket
    ), c AS (
      SELECT date_trunc(${unit}, created_at) AS bucket, count(*)::int AS n FROM job
      WHERE created_at >= ${lo} AND created_at < ${end} GROUP BY 1
    ), d AS (
      SELECT date_trunc(${unit}, completed_at) AS bucket, count(*)::int AS n FROM job
      WHERE completed_at >= ${lo} AND completed_at < ${end} GROUP BY 1
    ), f AS (
      SELECT date_trunc(${unit}, updated_at) AS bucket, count(*)::int AS n FROM job
      WHERE status = 'failed' AND updated_at >= ${lo} AND updated_at < ${end} GROUP BY 1
    )
    SELECT b.bucket, coalesce(c.n, 0) AS created, coalesce(d.n, 0) AS completed,
           coalesce(f.n, 0) AS failed
    FROM buckets b
    LEFT JOIN c ON c.bucket = b.bucket
    LEFT JOIN d ON d.bucket = b.bucket
    LEFT JOIN f ON f.bucket = b.bucket
    ORDER BY b.bucket`;
}

/**
 * Checks `stats.trend` against {@link directTrend} by minute and by hour
 * over windows that cover every row, and the stored counts themselves
 * (minute and hour rows plus deltas) against the rows, bucket by bucket.
 */
async function assertExact(sql: Sql, now: Date, label: string) {
  for (
    const q of [
      { hours: 48, bucket: "minute" as const },
      { hours: 3, bucket: "minute" as const },
      { hours: 720, bucket: "hour" as const },
      { hours: 24, bucket: "hour" as const },
    ]
  ) {
    assertEquals(
      await stats.trend(sql, { ...q, now }),
      await directTrend(sql, { ...q, now }),
      `${label}: trend ${q.hours} h by ${q.bucket}`,
    );
  }
  assertEquals(await stored(sql, "minute"), await truth(sql, "minute"), `${label}: minute rows`);
  assertEquals(await stored(sql, "hour"), await truth(sql, "hour"), `${label}: hour rows`);
}

type Row = { bucket: Date; kind: string; n: number };

/** Every (bucket, kind) with its count, from the job rows. */
async function truth(sql: Sql, unit: "minute" | "hour"): Promise<Row[]> {
  return await sql<Row[]>`
    SELECT bucket, kind, count(*)::int8 AS n FROM (
      SELECT date_trunc(${unit}, created_at, 'UTC') AS bucket, 'created' AS kind FROM job
      UNION ALL
      SELECT date_trunc(${unit}, completed_at, 'UTC'), 'completed' FROM job
      WHERE completed_at IS NOT NULL
      UNION ALL
      SELECT date_trunc(${unit}, updated_at, 'UTC'), 'failed' FROM job WHERE status = 'failed'
    ) AS c
    GROUP BY 1, 2 ORDER BY 1, 2`;
}

/** Every (bucket, kind) with a count other than zero, from the maintained tables. */
async function stored(sql: Sql, unit: "minute" | "hour"): Promise<Row[]> {
  const base = unit === "minute" ? sql`job_trend_count` : sql`job_trend_hour_count`;
  return await sql<Row[]>`
    SELECT bucket, kind, sum(n)::int8 AS n FROM (
      SELECT bucket, kind, n FROM ${base}
      UNION ALL
      SELECT date_trunc(${unit}, bucket, 'UTC'), kind, n FROM job_trend_delta
    ) AS c
    GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2`;
}

/** Created, completed and failed jobs of the last 24 hours before `now`. */
async function totals(sql: Sql, now: Date) {
  const out = { created: 0, completed: 0, failed: 0 };
  for (const p of await stats.trend(sql, { hours: 24, bucket: "hour", now })) {
    out.created += p.created;
    out.completed += p.completed;
    out.failed += p.failed;
  }
  return out;
}

async function compact(sql: Sql): Promise<void> {
  await sql`SELECT job_trend_compact()`;
}

function newJob(i: number) {
  return { type: "email", payload: { to: "a@example.com", subject: `s${i}`, body: "b" } };
}

let db: TestDb;

Deno.test({
  name: "trend counts",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    db = await createTestDb({ max: 12 });
    try {
      await t.step("trend: exact after every kind of state change", async () => {
        const sql = db.sql;
        await sql`TRUNCATE job, job_event, job_artifact`;
        const clock = fixedClock(new Date("2026-01-15T09:59:30.000Z"));
        const at = () => clock.now();
        await assertExact(sql, at(), "empty");
        await jobs.enqueue(sql, { job: newJob(0), now: at() });
        clock.advance(45_000);
        await jobs.enqueueBatch(sql, { jobs: [1, 2, 3, 4, 5, 6, 7, 8].map(newJob), now: at() });
        await insertJob(sql, { status: "failed", created_at: new Date(at().getTime() - 3 * HOUR) });
        await insertJob(sql, { status: "completed", created_at: new Date(at().getTime() - HOUR) });
        await insertJob(sql, {
          status: "cancelled",
          created_at: new Date(at().getTime() - 5 * MINUTE),
        });
        await assertExact(sql, at(), "after enqueue");

        clock.advance(2 * MINUTE);
        const claimed = await jobs.claim(sql, {
          worker: "w",
          limit: 6,
          leaseSeconds: LEASE,
          now: at(),
        });
        await assertExact(sql, at(), "after claim");
        await jobs.extendLease(sql, {
          worker: "w",
          ids: claimed.map((j) => j.id),
          leaseSeconds: LEASE,
          now: at(),
        });
        clock.advance(MINUTE);
        await jobs.completeMany(sql, {
          worker: "w",
          items: claimed.slice(0, 2).map((j) => ({ id: j.id, attempt: j.attempts, result: 1 })),
          now: at(),
        });
        // A completion that lost its fence changes nothing.
        await jobs.complete(sql, { id: claimed[0].id, attempt: 1, worker: "other", result: 1 });
        // A failure with attempts left goes back to pending: not a final failure.
        await jobs.fail(sql, {
          id: claimed[2].id,
          attempt: claimed[2].attempts,
          worker: "w",
          error: new Error("x"),
          retry: RETRY,
          now: at(),
        });
        clock.advance(HOUR);
        // Final failures: a permanent error, and the last attempt.
        await jobs.fail(sql, {
          id: claimed[3].id,
          attempt: claimed[3].attempts,
          worker: "w",
          error: new Error("x"),
          retry: RETRY,
          permanent: true,
          now: at(),
        });
        await sql`UPDATE job SET max_attempts = 1 WHERE id = ${claimed[4].id}`;
        await jobs.fail(sql, {
          id: claimed[4].id,
          attempt: claimed[4].attempts,
          worker: "w",
          error: new Error("x"),
          retry: RETRY,
          now: at(),
        });
        await assertExact(sql, at(), "after complete and fail");
        assertEquals(await totals(sql, at()), { created: 12, completed: 3, failed: 3 });

        clock.advance(7 * MINUTE);
        const [pending] = await sql<{ id: string }[]>`
          SELECT id FROM job WHERE status = 'pending' ORDER BY created_at, id LIMIT 1`;
        await jobs.cancel(sql, { id: pending.id, now: at() });
        // A retry by hand takes a failed job out of its failure bucket.
        await jobs.retry(sql, { id: claimed[3].id, now: at() });
        await assertExact(sql, at(), "after cancel and retry");
        assertEquals(await totals(sql, at()), { created: 12, completed: 3, failed: 2 });

        // Rescue of an expired lease (attempts left, and none left), and a give-back.
        clock.advance(2 * HOUR);
        const more = await jobs.claim(sql, {
          worker: "w2",
          limit: 3,
          leaseSeconds: LEASE,
          now: at(),
        });
        await sql`UPDATE job SET max_attempts = attempts WHERE id = ${more[0].id}`;
        clock.advance(LEASE * 1000 + 1000);
        await sql`UPDATE job SET locked_until = ${at()}::timestamptz - interval '1 second'
          WHERE id = ANY(${more.slice(0, 2).map((j) => j.id)}::uuid[])`;
        await jobs.rescueExpired(sql, { now: at() });
        await jobs.release(sql, {
          worker: "w2",
          items: more.slice(2).map((j) => ({ id: j.id, attempt: j.attempts })),
          now: at(),
        });
        await assertExact(sql, at(), "after rescue and release");

        // Deletes: one, many, bulk actions, prune.
        const [done] = await sql<{ id: string }[]>`
          SELECT id FROM job WHERE status = 'completed' ORDER BY id LIMIT 1`;
        await jobs.remove(sql, { id: done.id });
        const failed = await sql<{ id: string }[]>`SELECT id FROM job WHERE status = 'failed'`;
        await bulk.apply(sql, {
          action: "retry",
          ids: failed.slice(0, 1).map((r) => r.id),
          now: at(),
        });
        const some = await sql<{ id: string }[]>`
          SELECT id FROM job WHERE status <> 'processing' ORDER BY id LIMIT 3`;
        await bulk.apply(sql, { action: "delete", ids: some.map((r) => r.id), now: at() });
        await jobs.removeMany(sql, {
          ids: (await sql<{ id: string }[]>`SELECT id FROM job WHERE status = 'cancelled'`)
            .map((r) => r.id),
        });
        await assertExact(sql, at(), "after deletes");
        await pruneBatch(sql, { cutoff: new Date(at().getTime() - 2 * HOUR) });
        await assertExact(sql, at(), "after prune");

        // An edit of the instants moves the job between buckets.
        await sql`UPDATE job SET created_at = created_at - interval '90 minutes',
          updated_at = updated_at + interval '1 minute'`;
        await assertExact(sql, at(), "after moving instants");

        await compact(sql);
        await assertExact(sql, at(), "after compaction");
        const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job_trend_delta`;
        assertEquals(n, 0);
        const [{ zeros }] = await sql<{ zeros: number }[]>`
          SELECT (SELECT count(*) FROM job_trend_count WHERE n = 0)
               + (SELECT count(*) FROM job_trend_hour_count WHERE n = 0) AS zeros`;
        assertEquals(zeros, 0, "buckets that fell to zero are deleted");

        await sql`TRUNCATE job, job_event, job_artifact`;
        await assertExact(sql, at(), "after truncate");
        const [{ left }] = await sql<{ left: number }[]>`
          SELECT (SELECT count(*) FROM job_trend_count)
               + (SELECT count(*) FROM job_trend_hour_count) AS left`;
        assertEquals(left, 0);
      });

      await t.step("trend: a rolled-back change leaves the counts as they were", async () => {
        const sql = db.sql;
        await sql`TRUNCATE job, job_event, job_artifact`;
        const now = new Date("2026-01-15T12:00:00.000Z");
        await jobs.enqueueBatch(sql, { jobs: [1, 2, 3].map(newJob), now });
        await sql.begin(async (tx) => {
          const got = await jobs.claim(tx as unknown as Sql, {
            worker: "w",
            limit: 3,
            leaseSeconds: LEASE,
            now,
          });
          await jobs.completeMany(tx as unknown as Sql, {
            worker: "w",
            items: got.map((j) => ({ id: j.id, attempt: j.attempts, result: null })),
            now,
          });
          await tx`SELECT job_trend_compact()`;
          throw new Error("abort");
        }).catch(() => {});
        await sql.begin(async (tx) => {
          await jobs.enqueueBatch(tx as unknown as Sql, { jobs: [4, 5].map(newJob), now });
          await tx`DELETE FROM job`;
          throw new Error("abort");
        }).catch(() => {});
        await assertExact(sql, now, "after rollbacks");
        const points = await stats.trend(sql, { hours: 1, bucket: "minute", now });
        assertEquals(points.reduce((n, p) => n + p.created + p.completed, 0), 3);
      });

      await t.step(
        "trend: exact under concurrent claimers, completers, failers, producers, retriers and deleters",
        async () => {
          const sql = db.sql;
          await sql`TRUNCATE job, job_event, job_artifact`;
          await jobs.enqueueBatch(sql, { jobs: Array.from({ length: 400 }, (_, i) => newJob(i)) });
          const random = seededRandom(11);
          const claimer = async (w: number) => {
            for (let round = 0; round < 30; round++) {
              const got = await jobs.claim(sql, {
                worker: `w${w}`,
                limit: 1 + (round % 5),
                leaseSeconds: LEASE,
              });
              if (got.length === 0) continue;
              const [done, failed] = [got.slice(0, -1), got.at(-1)!];
              await jobs.completeMany(sql, {
                worker: `w${w}`,
                items: done.map((j) => ({ id: j.id, attempt: j.attempts, result: null })),
              });
              await jobs.fail(sql, {
                id: failed.id,
                attempt: failed.attempts,
                worker: `w${w}`,
                error: "e",
                retry: { ...RETRY, random },
                permanent: round % 3 === 0,
              });
            }
          };
          const producer = async () => {
            for (let i = 0; i < 20; i++) {
              await jobs.enqueueBatch(sql, { jobs: [newJob(i), newJob(i + 1)] });
            }
          };
          const retrier = async () => {
            for (let i = 0; i < 20; i++) {
              const ids = await sql<{ id: string }[]>`
                SELECT id FROM job WHERE status = 'failed' LIMIT 2`;
              await bulk.apply(sql, { action: "retry", ids: ids.map((r) => r.id) });
            }
          };
          const deleter = async () => {
            for (let i = 0; i < 20; i++) {
              const ids = await sql<{ id: string }[]>`
                SELECT id FROM job WHERE status IN ('completed', 'failed') LIMIT 3`;
              await jobs.removeMany(sql, { ids: ids.map((r) => r.id) });
              await compact(sql);
            }
          };
          const pruner = async () => {
            for (let i = 0; i < 10; i++) {
              await pruneBatch(sql, { cutoff: new Date(Date.now() + HOUR), limit: 4 });
            }
          };
          await Promise.all([
            ...Array.from({ length: 6 }, (_, w) => claimer(w)),
            producer(),
            retrier(),
            deleter(),
            pruner(),
          ]);
          const [{ now }] = await sql<{ now: Date }[]>`SELECT now() AS now`;
          await assertExact(sql, now, "after the concurrent run");
          const sum = await totals(sql, now);
          assertEquals(
            sum.completed > 0 && sum.failed > 0 && sum.created < 440,
            true,
            JSON.stringify(sum),
          );
          await compact(sql);
          await assertExact(sql, now, "after the final compaction");
        },
      );

      await t.step(
        "trend: a statement spanning many minutes folds its deltas at once",
        async () => {
          const sql = db.sql;
          await sql`TRUNCATE job, job_event, job_artifact`;
          const now = new Date("2026-01-15T12:00:00.000Z");
          await sql`
          INSERT INTO job (type, status, completed_at, created_at, updated_at)
          SELECT 'email', 'completed', t, t, t
          FROM generate_series(${now}::timestamptz - interval '299 minutes', ${now}::timestamptz,
                               interval '1 minute') AS t`;
          const [{ n }] = await sql<
            { n: number }[]
          >`SELECT count(*)::int AS n FROM job_trend_delta`;
          assertEquals(n, 0);
          await assertExact(sql, now, "after a statement over 300 minutes");
          await sql`DELETE FROM job WHERE created_at < ${now}::timestamptz - interval '1 hour'`;
          await assertExact(sql, now, "after deleting most of them");
          assertEquals(await totals(sql, now), { created: 61, completed: 61, failed: 0 });
        },
      );

      await t.step("trend: hour buckets of a time zone with a half-hour offset", async () => {
        const sql = db.sql;
        await sql`TRUNCATE job, job_event, job_artifact`;
        const now = new Date("2026-01-15T12:00:00.000Z");
        for (let i = 0; i < 12; i++) {
          await insertJob(sql, {
            status: "completed",
            created_at: new Date(now.getTime() - i * 17 * MINUTE),
          });
        }
        await compact(sql);
        const conn = await sql.reserve();
        try {
          await conn`SET TIME ZONE 'Asia/Kolkata'`;
          const q = { hours: 6, bucket: "hour" as const, now };
          const got = await stats.trend(conn as unknown as Sql, q);
          assertEquals(got, await directTrend(conn as unknown as Sql, q));
          assertEquals(got[0].bucket.getUTCMinutes(), 30);
          assertEquals(got.reduce((n, p) => n + p.created, 0), 12);
        } finally {
          await conn`RESET TIME ZONE`;
          conn.release();
        }
      });
    } finally {
      await db.drop();
    }
  },
});

Deno.test({
  name: "trend counts: the migration counts the jobs already in the table",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const all = await readMigrations();
    const mine = all.findIndex((m) => m.name === "0004_trend_counts.sql");
    const earlier = await Deno.makeTempDir();
    for (const m of all.slice(0, mine)) await Deno.writeTextFile(`${earlier}/${m.name}`, m.sql);
    const name = `jobq_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const admin = openPool(await adminUrl(), { max: 1 });
    await admin`CREATE DATABASE ${admin(name)}`;
    const sql = openPool(withDatabase(await adminUrl(), name), { max: 2 });
    try {
      await migrate(sql, { dir: earlier, quiet: true });
      const now = new Date("2026-01-15T12:00:00.000Z");
      for (
        const [i, status] of (["pending", "completed", "failed", "cancelled"] as const).entries()
      ) {
        for (let k = 0; k < 5; k++) {
          await insertJob(sql, {
            status,
            created_at: new Date(now.getTime() - (i * 5 + k) * 41 * MINUTE),
          });
        }
      }
      // Claimed and completed by hand: today's claim and completion read columns later
      // migrations add. The completions write what a completion writes (row and event).
      await sql`
        WITH c AS (
          UPDATE job SET status = 'processing', attempts = attempts + 1, locked_by = 'w',
            locked_until = ${now}::timestamptz + make_interval(secs => ${LEASE}), started_at = ${now},
            updated_at = ${now}
          WHERE id IN (SELECT id FROM job WHERE status = 'pending' ORDER BY priority DESC, created_at, id LIMIT 2)
          RETURNING id, attempts
        ), ev AS (
          INSERT INTO job_event (job_id, at, kind, attempt, worker)
          SELECT id, ${now}, 'claimed', attempts, 'w' FROM c
        )
        SELECT 1`;
      await sql`
        WITH d AS (
          UPDATE job SET status = 'completed', completed_at = ${now}, updated_at = ${now},
            locked_by = NULL, locked_until = NULL
          WHERE status = 'processing'
          RETURNING id, attempts
        )
        INSERT INTO job_event (job_id, at, kind, attempt, worker)
        SELECT id, ${now}, 'completed', attempts, 'w' FROM d`;
      assertEquals(await migrate(sql, { quiet: true }), all.slice(mine).map((m) => m.name));
      await assertExact(sql, now, "after the migration");
      await jobs.enqueue(sql, { job: newJob(1), now });
      await assertExact(sql, now, "after the migration and an enqueue");
    } finally {
      await sql.end({ timeout: 5 });
      await admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`;
      await admin.end();
      await Deno.remove(earlier, { recursive: true });
    }
  },
});
