/**
 * Bulk retry by filter and its undo over 10,000 jobs while a real worker
 * drains them: every job ends either restored exactly as it was, or as the
 * worker left it (no job both, no outcome lost or recorded twice).
 */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";
import { TEST_HANDLERS, testSupervisor } from "./_helpers/worker_sup.ts";
import { bulk } from "../lib/queue/mod.ts";

const N = 10_000;
const ACTOR = { name: "ops", via: "token" as const, address: "10.0.0.7" };

Deno.test("bulk retry + undo over 10,000 jobs with a worker draining at the same time", async () => {
  const db = await createTestDb({ max: 12 });
  const sql = db.sql;
  const { sup, dataDir } = await testSupervisor(db.url, {
    handlersModule: TEST_HANDLERS,
    concurrency: 4,
    pollMs: 50,
  });
  try {
    // 10,000 failed jobs (attempts 3 of 3, an error, an old schedule) and 100 pending ones
    // the bulk must not touch.
    const past = new Date(Date.now() - 3_600_000);
    await sql`
      INSERT INTO job (type, status, payload, error, attempts, max_attempts, created_at, updated_at,
        scheduled_for, started_at)
      SELECT 'brief', 'failed', jsonb_build_object('n', g, 'ms', 25), 'boom ' || g, 3, 3, ${past}, ${past},
        ${past}, ${past}
      FROM generate_series(1, ${N}) g`;
    await sql`INSERT INTO job (type, status, payload, scheduled_for)
      SELECT 'brief', 'pending', '{}'::jsonb, now() + interval '1 hour' FROM generate_series(1, 100)`;

    const completed = async () =>
      (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job WHERE status = 'completed'`)[0]
        .n;
    const r = await bulk.applyFilter(sql, {
      action: "retry",
      filter: { status: ["failed"], type: ["brief"] },
      actor: ACTOR,
    });
    assertEquals([r.count, r.matched, r.skipped], [N, N, 0]);
    assert(r.undo);
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    // The worker is draining; undo while it goes on.
    while (await completed() < 200) await new Promise((ok) => setTimeout(ok, 20));
    const u = await bulk.undo(sql, { id: r.undo.id, actor: ACTOR });
    assert(u);
    assertEquals(u.restored + u.moved_on, N);
    assert(u.moved_on >= 200, `the worker's jobs moved on: ${u.moved_on}`);
    assert(u.restored > 0, "some jobs were still pending");
    await sup.stop();

    // Restored jobs: exactly as before, one `restored` event; the others were left alone.
    const rows = await sql<
      {
        status: string;
        attempts: number;
        error: string | null;
        restored: number;
        completed: number;
        as_before: boolean;
      }[]
    >`
      SELECT j.status, j.attempts, j.error,
        (SELECT count(*)::int FROM job_event e WHERE e.job_id = j.id AND e.kind = 'restored')
          AS restored,
        (SELECT count(*)::int FROM job_event e WHERE e.job_id = j.id AND e.kind = 'completed')
          AS completed,
        (j.status = 'failed' AND j.attempts = 3 AND j.error = 'boom ' || (j.payload->>'n')
          AND j.scheduled_for = ${past} AND j.updated_at = ${past}) AS as_before
      FROM job j WHERE j.type = 'brief' AND j.payload ? 'n'`;
    assertEquals(rows.length, N);
    const restored = rows.filter((x) => x.restored > 0);
    assertEquals(restored.length, u.restored);
    assert(restored.every((x) => x.restored === 1 && x.as_before && x.completed === 0));
    const moved = rows.filter((x) => x.restored === 0);
    assertEquals(moved.length, u.moved_on);
    // Moved on: claimed by the worker after the retry (completed, or back to pending when the
    // stop released it); never put back to failed, each completion recorded once.
    assert(moved.every((x) => x.status !== "failed"), "a moved-on job was restored");
    assert(moved.every((x) => x.completed === (x.status === "completed" ? 1 : 0)));
    assert(moved.filter((x) => x.status === "completed").length >= 200);
    // The pending jobs outside the filter were not touched.
    const [{ n }] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM job WHERE payload = '{}'::jsonb AND status = 'pending'`;
    assertEquals(n, 100);
    // One audit row each, in the action's (last batch's) transaction.
    const audit = await sql<{ action: string; count: number }[]>`
      SELECT action, count FROM audit ORDER BY id`;
    assertEquals(audit, [{ action: "bulk.retry", count: N }, {
      action: "bulk.undo",
      count: u.restored,
    }]);
  } finally {
    await sup.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    await db.drop();
  }
});
