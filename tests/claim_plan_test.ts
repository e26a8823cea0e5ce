/**
 * The claim reads the claim index in claim order even when `job` has no
 * statistics yet for its pending jobs (a new database, or a burst into a
 * small table before autovacuum's next analyze): it never reads every
 * pending job and sorts them to take a few (migrations/0019_claim_plan.sql;
 * today through 0021_claim_open_queues.sql's jobq_claim_open).
 * The plans come from auto_explain, sent to this test's own session.
 */
import { jobs } from "../lib/queue/mod.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";
import { explainedSession } from "./_helpers/explained.ts";

Deno.test("claim: with no statistics on a backlog, job_claim_idx in claim order, no sort of the backlog", async () => {
  const db = await createTestDb();
  const session = explainedSession(db.url);
  const conn = session.conn;
  try {
    // A burst of 3,000 pending jobs, and statistics from before it (an empty table).
    await db.sql`ANALYZE job`;
    const ids = await jobs.enqueueMany(db.sql, {
      jobs: Array.from(
        { length: 3000 },
        (_, i) => ({ type: "email", payload: { to: `u${i}@x.io` } }),
      ),
    });
    await session.explain();
    const claimed = await jobs.claim(conn as never, { worker: "w", limit: 5, leaseSeconds: 30 });
    // One statement's jobs share created_at: claim order is then by id.
    assertEquals(claimed.map((j) => j.id), [...ids].sort().slice(0, 5));
    const plans = session.plans();
    const scan = /Index Scan using job_claim_idx on job[^\n]*actual time=[^ ]+ rows=(\d+)/.exec(
      plans,
    );
    assert(scan, `the claim reads job_claim_idx:\n${plans}`);
    // No sort of the pending jobs themselves (sorting the few claimed rows is fine).
    assert(!/Sort Key: (j|job)\.priority DESC/.test(plans), `no sort of the backlog:\n${plans}`);
    // The scan stopped at the LIMIT: it read a handful of rows, not the backlog.
    assert(Number(scan[1]) <= 10, `rows read by the claim's index scan: ${scan[1]}`);
  } finally {
    await session.close();
    await db.drop();
  }
});
