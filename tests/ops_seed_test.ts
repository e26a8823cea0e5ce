/** `lib/queue/seed.ts`: demo data that satisfies every constraint and tells a consistent story. */
import { seed } from "../lib/queue/seed.ts";
import { JOB_TYPES } from "../lib/jobs/mod.ts";
import { JOB_STATUSES } from "../lib/queue/types.ts";
import { createTestDb } from "./_helpers/db.ts";
import { assert, assertEquals, assertRejects } from "./_helpers/assert.ts";

Deno.test("seed (one database, a step per case)", async (t) => {
  const db = await createTestDb();
  /** Each step starts from empty tables (DELETE, so the count triggers stay exact). */
  const clean = async () => {
    await db.sql`DELETE FROM job_event`;
    await db.sql`DELETE FROM job_artifact`;
    await db.sql`DELETE FROM job`;
  };
  try {
    await t.step(
      "seed: inserts exactly N jobs covering every type × status, with valid payloads and events",
      async () => {
        await clean();
        const r = await seed(db.sql, { count: 20, spreadDays: 7 });
        assertEquals(r.jobs, 20);
        const [{ n, e }] = await db.sql<{ n: number; e: number }[]>`
          SELECT (SELECT count(*)::int FROM job) AS n, (SELECT count(*)::int FROM job_event) AS e`;
        assertEquals(n, 20);
        assertEquals(e, r.events);
        assertEquals(Object.values(r.byStatus).reduce((a, b) => a + b, 0), 20);

        const pairs = await db.sql<{ type: string; status: string }[]>`
          SELECT DISTINCT type, status FROM job ORDER BY type, status`;
        assertEquals(pairs.length, Object.keys(JOB_TYPES).length * JOB_STATUSES.length);

        for (
          const job of await db.sql<
            { type: string; payload: unknown }[]
          >`SELECT type, payload FROM job`
        ) {
          const parsed = JOB_TYPES[job.type].schema.safeParse(job.payload);
          assert(
            parsed.success,
            `${job.type} payload ${JSON.stringify(job.payload)} fails its schema`,
          );
        }
      },
    );
    await t.step("seed: events match each job's status, attempts and times", async () => {
      await clean();
      await seed(db.sql, { count: 300, spreadDays: 3 });
      // Per job: its events in id order, as the timeline shows them.
      const rows = await db.sql<{
        id: string;
        status: string;
        attempts: number;
        created_at: Date;
        updated_at: Date;
        kinds: string[];
        ats: Date[];
        claims: number;
      }[]>`
          SELECT j.id, j.status, j.attempts, j.created_at, j.updated_at,
            array_agg(e.kind ORDER BY e.id) AS kinds, array_agg(e.at ORDER BY e.id) AS ats,
            count(*) FILTER (WHERE e.kind = 'claimed')::int AS claims
          FROM job j JOIN job_event e ON e.job_id = j.id GROUP BY j.id`;
      assertEquals(rows.length, 300, "every job has events");
      const [{ now }] = await db.sql<{ now: Date }[]>`SELECT now() AS now`;
      for (const j of rows) {
        const what = `${j.status} job ${j.id}: ${j.kinds.join(",")}`;
        assertEquals(j.kinds[0], "created", what);
        assertEquals(j.ats[0].getTime(), j.created_at.getTime(), what);
        for (let i = 1; i < j.ats.length; i++) {
          assert(j.ats[i] > j.ats[i - 1], `${what}: events out of time order`);
        }
        assertEquals(j.claims, j.attempts, what);
        const last = j.kinds.at(-1);
        if (j.status === "completed") assertEquals(last, "completed", what);
        if (j.status === "failed") {
          assertEquals(last, "failed", what);
          assertEquals(j.kinds.filter((k) => k === "failed").length, j.attempts, what);
        }
        if (j.status === "cancelled") assertEquals(j.kinds, ["created", "cancelled"], what);
        if (j.status === "processing") assertEquals(last, "claimed", what);
        if (j.status === "pending") assert(last === "created" || last === "failed", what);
        if (j.status !== "processing" && j.status !== "pending") {
          assert(j.updated_at <= now, `${what}: finished in the future`);
          assert(
            j.created_at >= new Date(now.getTime() - 3 * 86_400_000 - 1000),
            `${what}: too old`,
          );
        }
      }
    });
    await t.step(
      "seed: a larger run keeps a handful of processing jobs and spreads creation over the days",
      async () => {
        await clean();
        const r = await seed(db.sql, { count: 5000, spreadDays: 7 });
        assertEquals(r.jobs, 5000);
        const [s] = await db.sql<
          { n: number; processing: number; days: number; priorities: number; leased: number }[]
        >`
          SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'processing')::int AS processing,
            count(DISTINCT date_trunc('day', created_at))::int AS days,
            count(DISTINCT priority)::int AS priorities,
            count(*) FILTER (WHERE locked_until > now())::int AS leased
          FROM job`;
        assertEquals(s.n, 5000);
        assert(s.processing >= 3 && s.processing <= 80, `processing: ${s.processing}`);
        assertEquals(s.leased, s.processing);
        assert(s.days >= 7, `created on ${s.days} distinct days`);
        assertEquals(s.priorities, 5);
        assertEquals(r.byStatus.processing, s.processing);
      },
    );
    await t.step("seed: rejects a count or spread out of range", async () => {
      await clean();
      await assertRejects(() => seed(db.sql, { count: 0, spreadDays: 7 }), RangeError, "count");
      await assertRejects(
        () => seed(db.sql, { count: 10, spreadDays: 0 }),
        RangeError,
        "spreadDays",
      );
      const [{ n }] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
      assertEquals(n, 0);
    });
  } finally {
    await db.drop();
  }
});
