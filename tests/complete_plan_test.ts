/**
 * A worker's batched writes read its jobs by primary key even when `job`'s
 * statistics are from before a burst of claims (they say almost no job is
 * processing): the completion and the lease renewal never read
 * job_lease_idx, every processing job of every worker, for one batch. The
 * plans come from auto_explain, sent to this test's own session.
 */
import { jobs } from "../lib/queue/mod.ts";
import { completeIds } from "../lib/queue/complete.ts";
import { renewLeases } from "../lib/queue/lease.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";
import { explainedSession } from "./_helpers/explained.ts";

Deno.test("completion and lease renewal: primary key lookups, not the lease index, after a burst of claims", async () => {
  const db = await createTestDb();
  const session = explainedSession(db.url);
  const conn = session.conn;
  try {
    await jobs.enqueueMany(db.sql, {
      jobs: Array.from(
        { length: 4000 },
        (_, i) => ({ type: "email", payload: { to: `u${i}@x.io` } }),
      ),
    });
    // Statistics from before the claims: no job is processing.
    await db.sql`ANALYZE job`;
    const mine = await jobs.claim(db.sql, { worker: "w1", limit: 100, leaseSeconds: 30 });
    for (let i = 0; i < 3; i++) {
      await jobs.claim(db.sql, { worker: `other${i}`, limit: 1000, leaseSeconds: 30 });
    }
    await session.explain();

    const renewed = await renewLeases(conn as never, {
      worker: "w1",
      ids: mine.slice(0, 50).map((j) => j.id),
      leaseSeconds: 60,
    });
    assertEquals(renewed.ids.length, 50);
    const done = await completeIds(conn as never, {
      worker: "w1",
      items: mine.map((j) => ({ id: j.id, attempt: j.attempts, result: null })),
    });
    assertEquals(done.completed.length, 100);
    // Another worker's job is not completed by w1.
    const theirs = await db.sql<{ id: string }[]>`
      SELECT id FROM job WHERE locked_by = 'other0' LIMIT 1`;
    const none = await completeIds(conn as never, {
      worker: "w1",
      items: [{ id: theirs[0].id, attempt: 1, result: null }],
    });
    assertEquals(none.completed, []);

    const plans = session.plans();
    assert(/job_pkey/.test(plans), `the writes look their jobs up by primary key:\n${plans}`);
    assert(!/job_lease_idx/.test(plans), `no read of the lease index:\n${plans}`);
  } finally {
    await session.close();
    await db.drop();
  }
});
