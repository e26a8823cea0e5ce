/**
 * The enqueue coalescer against a real database: jobs that arrive while a
 * statement runs share the next one, each caller gets its own committed row,
 * a row that breaks a shared statement fails alone, and an unreachable
 * database fails the statement's callers without a retry. A statement is held
 * in flight by a transaction that locks `job` against inserts; the tests wait
 * for the lock wait in pg_stat_activity, never for time.
 */
import { assert, assertEquals, assertRejects } from "./_helpers/assert.ts";
import {
  allowInserts,
  createTestDb,
  refuseInsertsOf,
  type TestDb,
  withInsertsBlocked,
} from "./_helpers/db.ts";
import { waitFor } from "./_helpers/faults.ts";
import type { Sql } from "../lib/db.ts";
import { CoalescerClosedError, EnqueueCoalescer } from "../lib/queue/enqueue_coalescer.ts";
import type { NewJob } from "../lib/queue/jobs.ts";
import type { Job } from "../lib/queue/types.ts";

const job = (message: string): NewJob => ({
  type: "notification",
  payload: { user_id: "u1", channel: "push", message },
});

/** Backends of this database waiting for a lock. */
async function lockWaiters(sql: Sql): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'`;
  return n;
}

/**
 * Starts `first` (its statement then waits on the lock) and waits until it
 * does. Returns the job's promise wrapped, so awaiting this does not await it.
 */
async function startBlocked(
  db: TestDb,
  first: () => Promise<Job>,
): Promise<{ done: Promise<Job> }> {
  const done = first();
  done.catch(() => {}); // awaited by the caller later
  await waitFor(async () => (await lockWaiters(db.sql)) >= 1, {
    timeoutMs: 10_000,
    what: "the first statement to wait for the table lock",
  });
  return { done };
}

/** Stored rows (and their `created` steps, as the timeline reads them) whose payload message is `message`. */
async function stored(sql: Sql, message: string): Promise<{ jobs: number; events: number }> {
  const [row] = await sql<{ jobs: number; events: number }[]>`
    SELECT count(DISTINCT j.id)::int AS jobs, count(e.id)::int AS events
    FROM job j LEFT JOIN job_timeline e ON e.job_id = j.id AND e.kind = 'created'
    WHERE j.payload->>'message' = ${message}`;
  return row;
}

Deno.test({
  name: "coalescer: enqueue against a real database",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const db = await createTestDb({ max: 10 });
  try {
    await t.step("an idle coalescer writes a job at once, with its created event", async () => {
      const c = new EnqueueCoalescer(db.sql);
      const row = await c.enqueue(job("alone"));
      assertEquals([row.status, row.type, row.priority, row.attempts], [
        "pending",
        "notification",
        3,
        0,
      ]);
      assertEquals(row.payload, job("alone").payload);
      assertEquals(await stored(db.sql, "alone"), { jobs: 1, events: 1 });
      assertEquals(c.stats, { jobs: 1, statements: 1, largestBatch: 1, fallbacks: 0 });
      await c.close();
    });

    await t.step(
      "jobs arriving while a statement runs share the next one; each gets its own committed row",
      async () => {
        const c = new EnqueueCoalescer(db.sql);
        const messages = Array.from({ length: 12 }, (_, i) => `shared-${i}`);
        let first!: Promise<Job>;
        let rest: Promise<Job>[] = [];
        await withInsertsBlocked(db, async () => {
          first = (await startBlocked(db, () => c.enqueue(job("shared-first")))).done;
          rest = messages.map((m) => c.enqueue(job(m)));
          assertEquals(c.waiting, messages.length);
          // Nothing is committed while the statement waits.
          assertEquals(await stored(db.sql, "shared-0"), { jobs: 0, events: 0 });
        });
        const rows = await Promise.all([first, ...rest]);
        assertEquals(rows.map((r) => (r.payload as { message: string }).message), [
          "shared-first",
          ...messages,
        ]);
        assertEquals(new Set(rows.map((r) => r.id)).size, rows.length);
        for (const m of ["shared-first", ...messages]) {
          assertEquals(await stored(db.sql, m), { jobs: 1, events: 1 }, m);
        }
        assertEquals(c.stats, {
          jobs: 13,
          statements: 2,
          largestBatch: messages.length,
          fallbacks: 0,
        });
        await c.close();
      },
    );

    await t.step("maxBatch bounds the jobs of one statement", async () => {
      const c = new EnqueueCoalescer(db.sql, { maxBatch: 4 });
      let pending: Promise<Job>[] = [];
      await withInsertsBlocked(db, async () => {
        pending.push((await startBlocked(db, () => c.enqueue(job("bounded-first")))).done);
        pending = pending.concat(
          Array.from({ length: 10 }, (_, i) => c.enqueue(job(`bounded-${i}`))),
        );
      });
      await Promise.all(pending);
      assertEquals(c.stats, { jobs: 11, statements: 4, largestBatch: 4, fallbacks: 0 });
      await c.close();
    });

    await t.step("only jobs with the same clock share a statement", async () => {
      const c = new EnqueueCoalescer(db.sql);
      const t1 = new Date("2026-11-01T10:00:00Z");
      const t2 = new Date("2026-11-01T11:00:00Z");
      let pending: Promise<Job>[] = [];
      await withInsertsBlocked(db, async () => {
        pending.push((await startBlocked(db, () => c.enqueue(job("clock-0"), { now: t1 }))).done);
        pending = pending.concat([
          c.enqueue(job("clock-1"), { now: t1 }),
          c.enqueue(job("clock-2"), { now: t1 }),
          c.enqueue(job("clock-3"), { now: t2 }),
          c.enqueue(job("clock-4"), { now: t1 }),
        ]);
      });
      const rows = await Promise.all(pending);
      assertEquals(rows.map((r) => r.created_at.toISOString()), [
        t1.toISOString(),
        t1.toISOString(),
        t1.toISOString(),
        t2.toISOString(),
        t1.toISOString(),
      ]);
      // clock-0 | clock-1, clock-2 | clock-3 | clock-4
      assertEquals(c.stats.statements, 4);
      assertEquals(c.stats.largestBatch, 2);
      await c.close();
    });

    await t.step(
      "a row that fails a shared statement fails alone: the others are stored once each",
      async () => {
        await refuseInsertsOf(db.sql, "poison", "P0001");
        try {
          const c = new EnqueueCoalescer(db.sql);
          const good = ["mixed-0", "mixed-1", "mixed-2", "mixed-3"];
          let first!: Promise<Job>;
          let goods: Promise<Job>[] = [];
          let poison!: Promise<Job>;
          await withInsertsBlocked(db, async () => {
            first = (await startBlocked(db, () => c.enqueue(job("mixed-first")))).done;
            goods = good.slice(0, 2).map((m) => c.enqueue(job(m)));
            poison = c.enqueue(job("poison"));
            goods = goods.concat(good.slice(2).map((m) => c.enqueue(job(m))));
          });
          const err = await assertRejects(() => poison);
          assertEquals((err as Error & { code?: string }).code, "P0001");
          const rows = await Promise.all([first, ...goods]);
          assertEquals(new Set(rows.map((r) => r.id)).size, rows.length);
          for (const m of ["mixed-first", ...good]) {
            assertEquals(await stored(db.sql, m), { jobs: 1, events: 1 }, m);
          }
          assertEquals(await stored(db.sql, "poison"), { jobs: 0, events: 0 });
          assertEquals(c.stats.fallbacks, 1);
          await c.close();
        } finally {
          await allowInserts(db.sql);
        }
      },
    );

    await t.step(
      "an unreachable database fails every job of the statement, and nothing is retried",
      async () => {
        // 57P01 (admin_shutdown) is what a server going down answers.
        await refuseInsertsOf(db.sql, "outage", "57P01");
        try {
          const c = new EnqueueCoalescer(db.sql);
          let first!: Promise<Job>;
          let rest: Promise<Job>[] = [];
          await withInsertsBlocked(db, async () => {
            first = (await startBlocked(db, () => c.enqueue(job("outage-first")))).done;
            rest = [
              c.enqueue(job("outage-a")),
              c.enqueue(job("outage")),
              c.enqueue(job("outage-b")),
            ];
          });
          await first;
          const results = await Promise.allSettled(rest);
          for (const r of results) {
            assert(r.status === "rejected", "every job of the failed statement is rejected");
            assertEquals((r.reason as { code?: string }).code, "57P01");
          }
          for (const m of ["outage-a", "outage", "outage-b"]) {
            assertEquals(await stored(db.sql, m), { jobs: 0, events: 0 }, m);
          }
          assertEquals(c.stats.fallbacks, 0);
          await c.close();
        } finally {
          await allowInserts(db.sql);
        }
      },
    );

    await t.step("with notify, every statement notifies the channel as it commits", async () => {
      const heard: string[] = [];
      const listener = await db.sql.listen("test_new_jobs", (p) => heard.push(p));
      try {
        const c = new EnqueueCoalescer(db.sql, { notify: "test_new_jobs" });
        let pending: Promise<Job>[] = [];
        await withInsertsBlocked(db, async () => {
          pending.push((await startBlocked(db, () => c.enqueue(job("notify-first")))).done);
          pending = pending.concat([c.enqueue(job("notify-a")), c.enqueue(job("notify-b"))]);
          assertEquals(heard.length, 0, "nothing is announced before it commits");
        });
        await Promise.all(pending);
        assertEquals(c.stats.statements, 2);
        await waitFor(() => heard.length === 2, {
          timeoutMs: 10_000,
          what: `one notification per statement (heard ${heard.length})`,
        });
        await c.close();
      } finally {
        await listener.unlisten();
      }
    });

    await t.step("close waits for accepted jobs, then refuses new ones", async () => {
      const c = new EnqueueCoalescer(db.sql);
      const accepted = [c.enqueue(job("closing-0")), c.enqueue(job("closing-1"))];
      await c.close();
      assertEquals([c.waiting, c.inFlight], [0, 0]);
      await Promise.all(accepted);
      assertEquals(await stored(db.sql, "closing-1"), { jobs: 1, events: 1 });
      await assertRejects(() => c.enqueue(job("too-late")), CoalescerClosedError);
      assertEquals(await stored(db.sql, "too-late"), { jobs: 0, events: 0 });
    });
  } finally {
    await db.drop();
  }
});
