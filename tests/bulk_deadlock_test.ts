/**
 * A bulk action's batch that PostgreSQL aborts as a deadlock victim is run
 * again (lib/queue/bulk.ts, `retryDeadlock`). A runner's completions sent
 * with its next claim hold the rows the claim took while they wait for their
 * own, so they can lock the jobs of a bulk batch in another order than its
 * id order. Here another transaction plays that part for real: it holds the
 * second job, and asks for the first once the bulk batch holds it and waits
 * for the second. The action must go through once, its counts, its audit
 * entry and its undo covering what changed, and the other writer's change
 * must be kept.
 */
import type { Sql } from "../lib/db.ts";
import { audit, bulk, jobs } from "../lib/queue/mod.ts";
import { assertEquals } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";

const ACTOR = { name: "ops", via: "session" as const, address: null };

/** Resolves once some session of this database waits for a row lock. */
async function someoneWaits(sql: Sql): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [{ n }] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    if (n > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("no session ever waited for a lock");
}

/** Two pending jobs, in id order (the order a bulk batch locks them in). */
async function twoJobs(sql: Sql) {
  const made = await jobs.enqueueBatch(sql, {
    jobs: [1, 2].map((n) => ({
      type: "email",
      payload: { to: `u${n}@example.com`, subject: "s", body: "b" },
    })),
  });
  return made.map((j) => j.id).sort();
}

/**
 * The other writer: locks `second`, and once `blocked` resolves (the bulk
 * batch holds `first` and waits for `second`) changes `first`. It waits far
 * longer than the bulk batch before it looks for a deadlock, so the batch is
 * the victim.
 */
function otherWriter(sql: Sql, first: string, second: string, blocked: () => Promise<void>) {
  const holding = Promise.withResolvers<void>();
  const done = sql.begin(async (tx) => {
    await tx`SET LOCAL deadlock_timeout = '10s'`;
    await tx`SELECT id FROM job WHERE id = ${second} FOR UPDATE`;
    holding.resolve();
    await blocked();
    await tx`UPDATE job SET priority = 5 WHERE id = ${first}`;
  });
  return { holding: holding.promise, done };
}

Deno.test({
  name: "bulk actions: a batch aborted as a deadlock victim runs again, counted once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await createTestDb({ max: 4 });
    const sql = db.sql;
    try {
      await t.step(
        "by filter: both jobs cancelled, one audit entry of 2, both undone",
        async () => {
          const [first, second] = await twoJobs(sql);
          const other = otherWriter(sql, first, second, () => someoneWaits(sql));
          await other.holding;
          const r = await bulk.applyFilter(sql, {
            action: "cancel",
            filter: { status: ["pending"] },
            actor: ACTOR,
          });
          await other.done;
          assertEquals([r.matched, r.count, r.skipped], [2, 2, 0]);
          const rows = await sql<{ id: string; status: string; priority: number }[]>`
          SELECT id, status, priority FROM job ORDER BY id`;
          assertEquals(rows.map((x) => [x.id, x.status, x.priority]), [
            [first, "cancelled", 5],
            [second, "cancelled", 3],
          ]);
          const entries = (await audit.list(sql, { action: ["bulk.cancel"] })).items;
          assertEquals(entries.map((e) => e.count), [2]);
          const undone = await bulk.undo(sql, { id: r.undo!.id, actor: ACTOR });
          assertEquals(undone?.restored, 2);
          await sql`DELETE FROM job`;
        },
      );

      await t.step("by ids: both jobs cancelled in one transaction", async () => {
        const [first, second] = await twoJobs(sql);
        const other = otherWriter(sql, first, second, () => someoneWaits(sql));
        await other.holding;
        const r = await bulk.applyIds(sql, { action: "cancel", ids: [first, second] });
        await other.done;
        assertEquals(r.results.map((x) => [x.outcome, x.status]), [
          ["done", "cancelled"],
          ["done", "cancelled"],
        ]);
        const undone = await bulk.undo(sql, { id: r.undo!.id });
        assertEquals(undone?.restored, 2);
      });
    } finally {
      await db.drop();
    }
  },
});
