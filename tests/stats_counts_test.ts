/**
 * The incrementally maintained status counts (migration 0002) stay exact:
 * after every kind of state change, under concurrent claimers, completers,
 * producers and deleters, across rollbacks, compactions and TRUNCATE.
 */
import { createTestDb, seededRandom, type TestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assertEquals } from "./_helpers/assert.ts";
import { bulk, jobs, stats } from "../lib/queue/mod.ts";
import type { Sql } from "../lib/db.ts";
import type { StatusCounts } from "../lib/queue/types.ts";

const LEASE = 30;
const RETRY = { baseMs: 1, maxMs: 1 };

/** The counts by brute force, for comparison. */
async function truth(sql: Sql): Promise<StatusCounts> {
  const rows = await sql<{ status: string; n: number }[]>`
    SELECT status, count(*)::int AS n FROM job GROUP BY status`;
  const out: StatusCounts = {
    pending: 0,
    processing: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    total: 0,
  };
  for (const r of rows) {
    (out as Record<string, number>)[r.status] = r.n;
    out.total += r.n;
  }
  return out;
}

/**
 * The counts, and the jobs per attempt count and status that a list sorted
 * by attempts reads its groups from (migration 0024), against the table.
 */
async function assertExact(sql: Sql, label: string) {
  assertEquals(await stats.counts(sql), await truth(sql), label);
  const byAttempts = await sql<{ value: number; status: string; n: number }[]>`
    SELECT attempts AS value, status, count(*)::int8 AS n FROM job
    GROUP BY attempts, status ORDER BY attempts DESC, status`;
  assertEquals(
    await stats.countGroups(sql, { column: "attempts", desc: true }),
    byAttempts,
    `${label}: per attempt count`,
  );
}

function newJob(i: number) {
  return { type: "email", payload: { to: "a@example.com", subject: `s${i}`, body: "b" } };
}

let db: TestDb;

Deno.test({
  name: "status counts",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    db = await createTestDb({ max: 12 });
    try {
      await t.step("counts: exact after every kind of state change", async () => {
        const sql = db.sql;
        await sql`TRUNCATE job, job_event, job_artifact`;
        await assertExact(sql, "empty");
        await jobs.enqueue(sql, { job: newJob(0) });
        await jobs.enqueueBatch(sql, { jobs: [1, 2, 3, 4, 5, 6].map(newJob) });
        await insertJob(sql, { status: "failed" });
        await assertExact(sql, "after enqueue");
        const claimed = await jobs.claim(sql, { worker: "w", limit: 4, leaseSeconds: LEASE });
        await assertExact(sql, "after claim");
        await jobs.completeMany(sql, {
          worker: "w",
          items: claimed.slice(0, 2).map((j) => ({ id: j.id, attempt: j.attempts, result: 1 })),
        });
        // A completion that lost its fence changes nothing.
        await jobs.complete(sql, { id: claimed[0].id, attempt: 1, worker: "other", result: 1 });
        await jobs.fail(sql, {
          id: claimed[2].id,
          attempt: claimed[2].attempts,
          worker: "w",
          error: new Error("x"),
          retry: RETRY,
        });
        await jobs.fail(sql, {
          id: claimed[3].id,
          attempt: claimed[3].attempts,
          worker: "w",
          error: new Error("x"),
          retry: RETRY,
          permanent: true,
        });
        await assertExact(sql, "after complete and fail");
        const [pending] = await sql<{ id: string }[]>`
          SELECT id FROM job WHERE status = 'pending' ORDER BY created_at LIMIT 1`;
        await jobs.cancel(sql, { id: pending.id });
        await jobs.retry(sql, { id: claimed[3].id });
        await assertExact(sql, "after cancel and retry");
        const more = await jobs.claim(sql, { worker: "w2", limit: 2, leaseSeconds: LEASE });
        await sql`UPDATE job SET locked_until = now() - interval '1 second' WHERE locked_by = 'w2'`;
        await jobs.rescueExpired(sql);
        await jobs.release(sql, {
          worker: "w2",
          items: more.map((j) => ({ id: j.id, attempt: 1 })),
        });
        await assertExact(sql, "after rescue");
        const some = await sql<{ id: string }[]>`SELECT id FROM job LIMIT 3`;
        await jobs.removeMany(sql, { ids: some.map((r) => r.id) });
        await bulk.apply(sql, { action: "cancel", ids: (await truthIds(sql)).slice(0, 2) });
        await assertExact(sql, "after delete and bulk");
        await sql`SELECT job_status_compact()`;
        await assertExact(sql, "after compaction");
        const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job_status_delta`;
        assertEquals(n, 0);
        await sql`TRUNCATE job, job_event, job_artifact`;
        await assertExact(sql, "after truncate");
      });

      await t.step("counts: a rolled-back change leaves them as they were", async () => {
        const sql = db.sql;
        await sql`TRUNCATE job, job_event, job_artifact`;
        await jobs.enqueueBatch(sql, { jobs: [1, 2, 3].map(newJob) });
        await sql.begin(async (tx) => {
          await jobs.claim(tx as unknown as Sql, { worker: "w", limit: 3, leaseSeconds: LEASE });
          await tx`SELECT job_status_compact()`;
          throw new Error("abort");
        }).catch(() => {});
        await sql.begin(async (tx) => {
          await jobs.enqueueBatch(tx as unknown as Sql, { jobs: [4, 5].map(newJob) });
          throw new Error("abort");
        }).catch(() => {});
        await assertExact(sql, "after rollbacks");
        assertEquals((await stats.counts(sql)).pending, 3);
      });

      await t.step(
        "counts: exact under concurrent claimers, completers, producers and deleters",
        async () => {
          const sql = db.sql;
          await sql`TRUNCATE job, job_event, job_artifact`;
          await jobs.enqueueBatch(sql, { jobs: Array.from({ length: 400 }, (_, i) => newJob(i)) });
          const random = seededRandom(7);
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
              });
            }
          };
          const producer = async () => {
            for (let i = 0; i < 20; i++) {
              await jobs.enqueueBatch(sql, { jobs: [newJob(i), newJob(i + 1)] });
            }
          };
          const deleter = async () => {
            for (let i = 0; i < 20; i++) {
              const ids = await sql<{ id: string }[]>`
                SELECT id FROM job WHERE status IN ('completed', 'failed') LIMIT 3`;
              await jobs.removeMany(sql, { ids: ids.map((r) => r.id) });
              await sql`SELECT job_status_compact()`;
            }
          };
          await Promise.all([
            ...Array.from({ length: 6 }, (_, w) => claimer(w)),
            producer(),
            deleter(),
          ]);
          await assertExact(sql, "after the concurrent run");
          await sql`SELECT job_status_compact()`;
          await assertExact(sql, "after the final compaction");
        },
      );

      await t.step("list: totals of status/type filters equal the rows that match", async () => {
        const sql = db.sql;
        await sql`TRUNCATE job, job_event, job_artifact`;
        await insertJob(sql, { status: "failed", type: "report", payload: {} });
        await insertJob(sql, { status: "failed" });
        await insertJob(sql, { status: "completed" });
        await jobs.enqueueBatch(sql, { jobs: [1, 2, 3].map(newJob) });
        await jobs.claim(sql, { worker: "w", limit: 1, leaseSeconds: LEASE });
        const filters = [
          {},
          { status: ["failed" as const] },
          { status: ["pending" as const, "processing" as const] },
          { type: ["report"] },
          { type: ["email"], status: ["failed" as const] },
          { status: ["cancelled" as const] },
          { priority: [3] },
        ];
        for (const f of filters) {
          const page = await jobs.list(sql, { ...f, limit: 1 });
          const [{ n }] = await sql<{ n: number }[]>`
            SELECT count(*)::int AS n FROM job
            WHERE (${f.status ?? null}::text[] IS NULL OR status = ANY(${f.status ?? null}::text[]))
              AND (${f.type ?? null}::text[] IS NULL OR type = ANY(${f.type ?? null}::text[]))`;
          assertEquals(page.total, n, JSON.stringify(f));
        }
        const rows = await stats.countsByStatusAndType(sql);
        assertEquals(rows.find((r) => r.status === "failed" && r.type === "report")?.n, 1);
        assertEquals(rows.find((r) => r.status === "cancelled"), undefined);
      });
    } finally {
      await db.drop();
    }
  },
});

async function truthIds(sql: Sql): Promise<string[]> {
  return (await sql<{ id: string }[]>`SELECT id FROM job WHERE status = 'pending' ORDER BY id`)
    .map((r) => r.id);
}
