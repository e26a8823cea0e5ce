/**
 * The job list sorted by a column of few values (status, type, queue,
 * priority, attempts) is read group by group from the maintained counts
 * (lib/queue/list.ts, migration 0024), and a page past the middle of the
 * list (or of a group) from the other end. Its pages are exactly those of a
 * plain ORDER BY over the whole table, at every offset (across group
 * borders, past the middle, with counts not yet compacted, under filters),
 * and a page reads the rows of its groups, not every job, nor every job
 * before it.
 */
import { jobs } from "../lib/queue/mod.ts";
import type { Sql } from "../lib/db.ts";
import type { ListQuery } from "../lib/queue/list.ts";
import { JOB_STATUSES, type JobStatus } from "../lib/job_constants.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb, seededRandom } from "./_helpers/db.ts";
import { explainedSession } from "./_helpers/explained.ts";

const TYPES = ["email", "report", "notification"];
const QUEUES = ["default", "alpha"];

/**
 * `n` jobs in every status, type, queue, priority and attempt count, with
 * many sharing a creation instant (ties broken on id), inserted in batches
 * so that the counts hold deltas not compacted yet.
 */
async function seedMix(sql: Sql, n: number): Promise<void> {
  const rnd = seededRandom(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const base = Date.parse("2026-11-01T00:00:00Z");
  for (let done = 0; done < n;) {
    const rows = [];
    for (let i = 0; i < 100 && done < n; i++, done++) {
      const status = pick(JOB_STATUSES) as JobStatus;
      const attempts = status === "pending" || status === "cancelled"
        ? pick([0, 0, 1])
        : status === "failed"
        ? 3
        : pick([1, 1, 2, 3]);
      // Every 5th instant repeats: ties on created_at.
      const created = new Date(base + Math.floor(rnd() * n / 5) * 1000);
      rows.push({
        type: pick(TYPES),
        queue: pick(QUEUES),
        status,
        priority: 1 + Math.floor(rnd() * 5),
        attempts,
        created_at: created,
        completed_at: status === "completed" ? created : null,
        locked_by: status === "processing" ? "w" : null,
        locked_until: status === "processing" ? new Date(created.getTime() + 60_000) : null,
      });
    }
    await sql`INSERT INTO job ${
      sql(
        rows,
        "type",
        "queue",
        "status",
        "priority",
        "attempts",
        "created_at",
        "completed_at",
        "locked_by",
        "locked_until",
      )
    }`;
  }
}

/** The page by brute force: every matching row sorted, as the list's order says. */
async function bruteForce(sql: Sql, q: ListQuery): Promise<{ ids: string[]; total: number }> {
  const dir = q.order === "asc" ? sql`ASC` : sql`DESC`;
  const key = q.sort === "status"
    ? sql`array_position(${JOB_STATUSES}::text[], status)`
    : sql(q.sort!);
  const where = sql`
    WHERE (${q.status ?? null}::text[] IS NULL OR status = ANY(${q.status ?? null}::text[]))
      AND (${q.type ?? null}::text[] IS NULL OR type = ANY(${q.type ?? null}::text[]))
      AND (${q.queue ?? null}::text[] IS NULL OR queue = ANY(${q.queue ?? null}::text[]))
      AND (${q.priority ?? null}::int[] IS NULL OR priority = ANY(${q.priority ?? null}::int[]))`;
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM job ${where} ORDER BY ${key} ${dir}, created_at ${dir}, id ${dir}`;
  return {
    ids: rows.slice(q.offset ?? 0, (q.offset ?? 0) + (q.limit ?? 20)).map((r) => r.id),
    total: rows.length,
  };
}

const SORTS = [
  "status",
  "type",
  "queue",
  "priority",
  "attempts",
  "created_at",
  "updated_at",
  "scheduled_for",
] as const;
const JOBS = 2_500;
const FILTERS: Partial<ListQuery>[] = [
  {},
  { status: ["failed", "pending"] },
  { type: ["report"], queue: ["alpha"] },
  { priority: [1, 5], status: ["completed", "processing", "cancelled"] },
];

Deno.test("list sorted by a column of few values: the pages of a plain ORDER BY, read group by group", async (t) => {
  const db = await createTestDb();
  try {
    await seedMix(db.sql, JOBS);
    const [{ deltas }] = await db.sql<{ deltas: number }[]>`
      SELECT count(*)::int AS deltas FROM job_status_delta`;
    assert(deltas > 0, "some counts are still deltas, not compacted");

    await t.step(
      "every sort, order and filter, at offsets on and across group borders",
      async () => {
        for (const sort of SORTS) {
          for (const order of ["asc", "desc"] as const) {
            for (const filter of FILTERS) {
              const all = await bruteForce(db.sql, { ...filter, sort, order, limit: 1000 });
              // Where a group ends and the next begins, in this order.
              const half = Math.floor(all.total / 2);
              const offsets = new Set([
                0,
                1,
                37,
                1_000,
                half - 10,
                half,
                all.total - 20,
                all.total - 1,
                all.total,
                all.total + 5,
              ].filter((o) => o >= 0));
              const [{ n }] = await db.sql<{ n: number }[]>`
              SELECT count(*)::int AS n FROM job WHERE ${db.sql(sort)} = (
                SELECT ${db.sql(sort)} FROM job WHERE id = ${all.ids[0]})`;
              for (const d of [-3, -1, 0, 2]) offsets.add(Math.max(0, n + d));
              for (const d of [-3, 0, 2]) offsets.add(Math.max(0, Math.floor(n / 2) + d));
              for (const offset of offsets) {
                const q: ListQuery = { ...filter, sort, order, limit: 20, offset };
                const page = await jobs.list(db.sql, q);
                const want = await bruteForce(db.sql, q);
                const label = JSON.stringify(q);
                assertEquals(page.items.map((j) => j.id), want.ids, label);
                assertEquals(page.total, want.total, `${label}: total`);
              }
            }
          }
        }
      },
    );

    await t.step("paging through the whole list: every job once, in order", async () => {
      for (const sort of ["attempts", "status", "created_at"] as const) {
        const seen: string[] = [];
        for (let offset = 0;; offset += 100) {
          const page = await jobs.list(db.sql, { sort, order: "desc", limit: 100, offset });
          if (page.items.length === 0) break;
          seen.push(...page.items.map((j) => j.id));
        }
        const all = await bruteForce(db.sql, { sort, order: "desc", limit: 10_000 });
        assertEquals(seen.length, JOBS, `${sort}: every job seen`);
        assertEquals(seen, all.ids, `${sort}: the order of a plain ORDER BY`);
      }
    });

    await t.step("a job that changes group moves with its count", async () => {
      const [job] = await jobs.claim(db.sql, { worker: "w2", limit: 1, leaseSeconds: 30 });
      for (const sort of ["attempts", "status"] as const) {
        const q: ListQuery = { sort, order: "desc", limit: 100, offset: 0 };
        const all = await bruteForce(db.sql, { ...q, limit: 10_000 });
        const at = all.ids.indexOf(job.id);
        const page = await jobs.list(db.sql, { ...q, offset: Math.max(0, at - 50) });
        assert(page.items.some((j) => j.id === job.id), `${sort}: the claimed job is on its page`);
        assertEquals(
          page.items.map((j) => j.id),
          all.ids.slice(Math.max(0, at - 50), Math.max(0, at - 50) + 100),
        );
        assertEquals(page.total, JOBS);
      }
    });
  } finally {
    await db.drop();
  }
});

Deno.test("list sorted by attempts or status, and the last page: a page reads its own rows, not every job", async () => {
  const db = await createTestDb();
  const session = explainedSession(db.url);
  try {
    await seedMix(db.sql, 20_000);
    await db.sql`ANALYZE job`;
    await session.explain();
    for (const sort of ["attempts", "status", "type", "priority"] as const) {
      for (const order of ["asc", "desc"] as const) {
        await jobs.list(session.conn as never, { sort, order, limit: 20 });
      }
    }
    // The last pages, of the whole list and of the last group.
    const last = await jobs.list(session.conn as never, { limit: 20, offset: 19_980 });
    assertEquals(last.items.length, 20);
    const tries = await jobs.list(session.conn as never, {
      sort: "attempts",
      order: "desc",
      limit: 20,
      offset: 19_990,
    });
    assertEquals(tries.items.length, 10);
    const plans = session.plans();
    assert(!/Seq Scan on job /.test(plans), `no sequential read of job:\n${plans}`);
    // Rows read from job by any one node: a page of 20, give or take the
    // rows of other groups passed over in created_at order.
    const scans = [
      ...plans.matchAll(/Scan(?: Backward)?(?: using \S+)? on job .*?actual time=\S+ rows=(\d+)/g),
    ];
    assert(scans.length > 0, `plans were logged:\n${plans}`);
    for (const m of scans) {
      assert(Number(m[1]) <= 200, `a scan of job returned ${m[1]} rows:\n${plans}`);
    }
    for (const m of plans.matchAll(/Rows Removed by Filter: (\d+)/g)) {
      assert(Number(m[1]) <= 2000, `a scan passed over ${m[1]} rows:\n${plans}`);
    }
    // A group read status by status takes from each status's read only the
    // rows the page needs from it (merged in created_at order), not a whole
    // page from each: the reads of one statement return a page of 20 and a
    // few more (the next row of each status, rows sharing a created_at).
    const merged = plans.split("\n---\n").filter((p) => p.includes("Merge Append"));
    assert(merged.length >= 6, `the first pages merge statuses:\n${plans}`);
    for (const plan of merged) {
      const rows = [
        ...plan.matchAll(/Scan(?: Backward)?(?: using \S+)? on job .*?actual time=\S+ rows=(\d+)/g),
      ].reduce((n, m) => n + Number(m[1]), 0);
      assert(rows <= 35, `one page's reads returned ${rows} rows:\n${plan}`);
    }
  } finally {
    await session.close();
    await db.drop();
  }
});

Deno.test("list sorted by tries, most first: the few jobs that took several attempts are read from their own index, in a generic plan too", async () => {
  const db = await createTestDb();
  const session = explainedSession(db.url);
  try {
    // As in a busy table: the jobs retried and completed long ago, then
    // thousands of newer jobs completed at their first attempt.
    const base = Date.parse("2026-11-01T00:00:00Z");
    await db.sql`
      INSERT INTO job (type, status, attempts, created_at, completed_at)
      SELECT 'email', 'completed', CASE WHEN i <= 30 THEN 3 WHEN i <= 60 THEN 2 ELSE 1 END,
        ${new Date(base)}::timestamptz + make_interval(secs => i),
        ${new Date(base)}::timestamptz + make_interval(secs => i + 1)
      FROM generate_series(1, 8000) AS i`;
    await db.sql`ANALYZE job`;
    await session.explain();
    // Every run of the prepared read plans it as a generic plan would.
    await session.conn`SET plan_cache_mode = force_generic_plan`;
    const first = await jobs.list(session.conn as never, {
      sort: "attempts",
      order: "desc",
      limit: 20,
    });
    const second = await jobs.list(session.conn as never, {
      sort: "attempts",
      order: "desc",
      limit: 20,
      offset: 20,
    });
    assertEquals(first.total, 8000);
    assertEquals(first.items.map((j) => j.attempts), Array(20).fill(3));
    assertEquals(second.items.map((j) => j.attempts), [...Array(10).fill(3), ...Array(10).fill(2)]);
    // Newest first within a group.
    assertEquals(
      [...first.items, ...second.items.slice(0, 10)].map((j) => j.created_at.getTime()),
      Array.from({ length: 30 }, (_, i) => base + (30 - i) * 1000),
    );
    const plans = session.plans();
    assert(
      /job_retried_created_idx/.test(plans),
      `the groups of 2 and 3 tries use their index:\n${plans}`,
    );
    for (const m of plans.matchAll(/Rows Removed by Filter: (\d+)/g)) {
      assert(Number(m[1]) <= 40, `a scan passed over ${m[1]} rows:\n${plans}`);
    }
  } finally {
    await session.close();
    await db.drop();
  }
});
