/** `lib/queue/prune.ts`: retention that deletes exactly the old finished jobs, in batches, never waiting. */
import { countPrunable, prune, startPruner } from "../lib/queue/prune.ts";
import { PRUNE_LOCK_KEY } from "../lib/queue/lock_keys.ts";
import * as artifacts from "../lib/queue/artifacts.ts";
import type { JobStatus } from "../lib/queue/types.ts";
import { createTestDb, type TestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assert, assertEquals, assertRejects } from "./_helpers/assert.ts";

const NOW = new Date("2026-01-15T12:00:00.000Z");
const DAY = 86_400_000;
const STATUSES: JobStatus[] = ["pending", "processing", "completed", "failed", "cancelled"];

/** One job of every status 40 days old and one 5 days old, each with 3 events; an artifact on each completed one. */
async function arrange(db: TestDb) {
  const ids: Record<string, string> = {};
  for (const age of [40, 5]) {
    for (const status of STATUSES) {
      const job = await insertJob(db.sql, {
        status,
        type: "report",
        payload: {},
        created_at: new Date(NOW.getTime() - age * DAY),
        locked_until: new Date(NOW.getTime() + 30_000),
      });
      await db.sql`
        INSERT INTO job_event (job_id, at, kind, attempt)
        VALUES (${job.id}, ${job.created_at}, 'claimed', 1), (${job.id}, ${job.created_at}, 'completed', 1)`;
      if (status === "completed") {
        await artifacts.put(db.sql, {
          jobId: job.id,
          filename: "r.csv",
          contentType: "text/csv",
          bytes: new TextEncoder().encode("a,b\n"),
        });
      }
      ids[`${status}/${age}`] = job.id;
    }
  }
  return ids;
}

async function remaining(
  db: TestDb,
): Promise<{ jobs: string[]; orphanEvents: number; artifacts: number }> {
  const jobs = (await db.sql<{ id: string }[]>`SELECT id FROM job ORDER BY id`).map((r) => r.id);
  const [{ orphans, arts }] = await db.sql<{ orphans: number; arts: number }[]>`
    SELECT (SELECT count(*)::int FROM job_event e WHERE NOT EXISTS (SELECT 1 FROM job j WHERE j.id = e.job_id)) AS orphans,
           (SELECT count(*)::int FROM job_artifact) AS arts`;
  return { jobs, orphanEvents: orphans, artifacts: arts };
}

Deno.test("prune and the in-worker pruner (one database, a step per case)", async (t) => {
  const db = await createTestDb();
  /** Each step starts from empty tables (DELETE, so the count triggers stay exact). */
  const clean = async () => {
    await db.sql`DELETE FROM job_event`;
    await db.sql`DELETE FROM job_artifact`;
    await db.sql`DELETE FROM job`;
  };
  try {
    await t.step(
      "prune: deletes exactly the old finished jobs with their events and artifacts",
      async () => {
        await clean();
        const ids = await arrange(db);
        const r = await prune(db.sql, { olderThanMs: 30 * DAY, now: NOW });
        assertEquals({ jobs: r.jobs, events: r.events, artifacts: r.artifacts }, {
          jobs: 3,
          events: 9,
          artifacts: 1,
        });
        assertEquals(r.batches, 1);
        assertEquals(r.cutoff?.toISOString(), new Date(NOW.getTime() - 30 * DAY).toISOString());
        const left = await remaining(db);
        const kept = ["pending/40", "processing/40", ...STATUSES.map((s) => `${s}/5`)].map((k) =>
          ids[k]
        );
        assertEquals(left.jobs, kept.sort());
        assertEquals(left.orphanEvents, 0);
        assertEquals(left.artifacts, 1, "the recent completed job keeps its artifact");
        const [{ events }] = await db.sql<
          { events: number }[]
        >`SELECT count(*)::int AS events FROM job_event`;
        assertEquals(events, 7 * 3, "kept jobs keep all their events");

        const again = await prune(db.sql, { olderThanMs: 30 * DAY, now: NOW });
        assertEquals([again.jobs, again.events, again.artifacts, again.batches], [0, 0, 0, 0]);
      },
    );
    await t.step(
      "prune: small batches reach the same result; dry run counts and deletes nothing",
      async () => {
        await clean();
        await arrange(db);
        const dry = await prune(db.sql, { olderThanMs: 1 * DAY, now: NOW, dryRun: true });
        assertEquals([dry.jobs, dry.events, dry.artifacts, dry.batches], [6, 18, 2, 0]);
        assertEquals((await remaining(db)).jobs.length, 10);
        assertEquals(await countPrunable(db.sql, { cutoff: dry.cutoff as Date }), {
          jobs: 6,
          events: 18,
          artifacts: 2,
        });

        const seen: number[] = [];
        const r = await prune(db.sql, {
          olderThanMs: 1 * DAY,
          now: NOW,
          batchSize: 4,
          onBatch: (t) => seen.push(t.jobs),
        });
        assertEquals([r.jobs, r.events, r.artifacts, r.batches], [6, 18, 2, 2]);
        assertEquals(seen, [4, 6]);
        assertEquals((await remaining(db)).jobs.length, 4);
      },
    );
    await t.step(
      "prune: passes over a job another transaction holds instead of waiting for it",
      async () => {
        await clean();
        const ids = await arrange(db);
        const held = ids["failed/40"];
        const conn = await db.sql.reserve();
        try {
          await conn`BEGIN`;
          await conn`SELECT id FROM job WHERE id = ${held} FOR UPDATE`;
          const started = Date.now();
          const r = await prune(db.sql, { olderThanMs: 30 * DAY, now: NOW });
          assert(Date.now() - started < 5000, "prune waited for the lock");
          assertEquals(r.jobs, 2);
          assert((await remaining(db)).jobs.includes(held));
          await conn`ROLLBACK`;
        } finally {
          conn.release();
        }
        const later = await prune(db.sql, { olderThanMs: 30 * DAY, now: NOW });
        assertEquals(later.jobs, 1);
        assert(!(await remaining(db)).jobs.includes(held));
      },
    );
    await t.step("prune: a job retried by hand is pending again and kept", async () => {
      await clean();
      const ids = await arrange(db);
      await db.sql`UPDATE job SET status = 'pending', attempts = 0 WHERE id = ${ids["failed/40"]}`;
      const r = await prune(db.sql, { olderThanMs: 30 * DAY, now: NOW });
      assertEquals(r.jobs, 2);
      assert((await remaining(db)).jobs.includes(ids["failed/40"]));
    });
    await t.step("prune: rejects a zero age or a bad batch size", async () => {
      await clean();
      await assertRejects(() => prune(db.sql, { olderThanMs: 0 }), RangeError, "olderThanMs");
      await assertRejects(
        () => prune(db.sql, { olderThanMs: DAY, batchSize: 0 }),
        RangeError,
        "batchSize",
      );
    });
    await t.step(
      "startPruner: runNow prunes by the database clock; pruners take turns; stop ends it",
      async () => {
        await clean();
        // Relative to the real clock this time: the pruner uses the database's now().
        const old = new Date(Date.now() - 40 * DAY);
        for (const status of STATUSES) await insertJob(db.sql, { status, created_at: old });
        const a = startPruner(db.sql, { olderThanMs: 30 * DAY, firstDelayMs: 3_600_000 });
        const b = startPruner(db.sql, { olderThanMs: 30 * DAY, firstDelayMs: 3_600_000 });
        try {
          // Another pruner's batch holds the turn (the advisory lock) while a runs: a stops early.
          const conn = await db.sql.reserve();
          try {
            await conn`BEGIN`;
            await conn`SELECT pg_advisory_xact_lock(${PRUNE_LOCK_KEY})`;
            const blocked = await a.runNow();
            assertEquals([blocked?.jobs, blocked?.stopped], [0, true]);
            await conn`ROLLBACK`;
          } finally {
            conn.release();
          }
          const r = await b.runNow();
          assertEquals([r?.jobs, r?.events, r?.stopped], [3, 3, false]);
          assertEquals((await remaining(db)).jobs.length, 2);
        } finally {
          await a.stop();
          await b.stop();
        }
      },
    );
  } finally {
    await db.drop();
  }
});
