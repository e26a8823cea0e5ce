/**
 * A claim reads job rows in two snapshots: the statement's own, and the
 * newer ones of the functions that choose and lock the rows. A job retried
 * by hand between the two was `failed` with its attempts used up in the
 * first and `pending` in the second. Such a claim once failed as a whole on
 * job_attempts_within_max (PostgreSQL checks the updated row's constraints
 * on the version the statement saw, before it finds the newer one); it must
 * pass the row over instead, and the next claim takes it as a fresh run.
 *
 * The window is made wide on purpose: a limited queue's claim waits for the
 * queue's claim lock (migrations/0006, queue_claim_slots) after the
 * statement's snapshot was taken, and this test holds that lock while it
 * retries the job.
 */
import { bulk, jobs, queues } from "../lib/queue/mod.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { waitFor } from "./_helpers/faults.ts";

Deno.test("claim: a job retried by hand while the claim runs is passed over, not a failed claim; the next claim runs it", async () => {
  const db = await createTestDb();
  const sql = db.sql;
  const holder = await sql.reserve();
  try {
    // The queue has a pending job (not due for an hour), so its claim goes
    // on to take the queue's lock; and a job failed at its last attempt.
    await insertJob(sql, { status: "pending", scheduled_for: new Date(Date.now() + 3_600_000) });
    const failed = await insertJob(sql, { status: "failed", attempts: 3, max_attempts: 3 });
    await sql`UPDATE job SET queue = 'slow'`;
    await queues.update(sql, { name: "slow", change: { concurrency: 5 } });

    await holder`BEGIN`;
    await holder`SELECT pg_advisory_xact_lock(7245020, hashtext('slow'))`;
    // Its clock a minute ahead: the retry below makes the job due at the
    // retry's own time, later than this statement's start (in the wild the
    // retry's transaction began first, and its time was earlier).
    const claim = jobs.claim(sql, {
      worker: "w1",
      limit: 5,
      leaseSeconds: 30,
      now: new Date(Date.now() + 60_000),
    });
    const outcome = claim.then((r) => ({ ok: r }), (err: Error) => ({ err: err.message }));
    await waitFor(async () => {
      const [{ n }] = await sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`;
      return n === 1;
    }, { timeoutMs: 10_000, what: "the claim waiting for the queue's lock" });
    // Retried while the claim waits: pending again, attempts back to 0.
    const [retried] = await bulk.apply(sql, { action: "retry", ids: [failed.id] });
    assertEquals(retried.outcome, "done");
    await holder`COMMIT`;

    const first = await outcome;
    assert("ok" in first, `the claim failed: ${JSON.stringify(first)}`);
    assertEquals(first.ok.map((j) => j.id), []);
    const [row] = await sql<{ status: string; attempts: number }[]>`
      SELECT status, attempts FROM job WHERE id = ${failed.id}`;
    assertEquals(row, { status: "pending", attempts: 0 });

    const next = await jobs.claim(sql, { worker: "w2", limit: 5, leaseSeconds: 30 });
    assertEquals(next.map((j) => [j.id, j.attempts, j.locked_by]), [[failed.id, 1, "w2"]]);
  } finally {
    await holder`ROLLBACK`.catch(() => {});
    holder.release();
    await db.drop();
  }
});
