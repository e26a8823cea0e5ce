/**
 * Poison jobs: handlers that always crash their Web Worker — an uncaught
 * exception from a timer, or `self.close()` — end `failed` after
 * max_attempts, and the pool is back to full concurrency.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { createTestDb } from "../_helpers/db.ts";
import {
  audit,
  enqueueWork,
  type Proc,
  report,
  spawnWorker,
  statusCounts,
  stopAll,
  waitFor,
} from "../_helpers/faults.ts";

Deno.test("faults: poison jobs that crash their Web Worker end failed after max_attempts; the pool keeps full concurrency", async () => {
  const db = await createTestDb();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-fault-poison-" });
  const procs: Proc[] = [];
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  try {
    const w = await spawnWorker(db.url, dataDir, { env: { WORKER_METRICS_PORT: String(port) } });
    procs.push(w);
    const t0 = performance.now();
    await enqueueWork(db.sql, { count: 2, type: "poison_throw", maxAttempts: 3 });
    await enqueueWork(db.sql, { count: 2, type: "poison_close", maxAttempts: 3 });
    await enqueueWork(db.sql, { count: 100, ms: 20 });
    await waitFor(async () => {
      const c = await statusCounts(db.sql);
      return c.failed === 4 && c.completed === 100;
    }, { timeoutMs: 120_000, what: "4 poison jobs failed and 100 jobs completed" });
    const seconds = (performance.now() - t0) / 1000;
    const poison = await db.sql<
      { type: string; status: string; attempts: number; fails: number }[]
    >`
      SELECT j.type, j.status, j.attempts,
        (SELECT count(*)::int FROM job_event e WHERE e.job_id = j.id AND e.kind = 'failed') AS fails
      FROM job j WHERE type LIKE 'poison%' ORDER BY type`;
    for (const p of poison) {
      assertEquals([p.type, p.status, p.attempts, p.fails], [p.type, "failed", 3, 3]);
    }
    // Full concurrency: 4 runners running (replacements of the crashed ones) ...
    const health = await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      const body = await res.json() as { runners: { worker: string; state: string }[] };
      return body.runners.filter((r) => r.state === "running").length === 4 ? body : null;
    }, { timeoutMs: 30_000, what: "4 running runners" });
    const replaced = w.lines.filter((l) => l.msg === "runner.replaced").length;
    // ... and 4 slow jobs run at the same time.
    const before = (await statusCounts(db.sql)).completed;
    await enqueueWork(db.sql, { count: 16, ms: 1500 });
    const [{ most }] = await waitFor(async () => {
      const rows = await db.sql<{ most: number }[]>`
        SELECT count(DISTINCT e.job_id)::int AS most FROM job_event e
        JOIN job j ON j.id = e.job_id
        WHERE e.kind = 'claimed' AND j.status = 'processing'`;
      return rows[0].most >= 4 ? rows : null;
    }, { timeoutMs: 30_000, what: "4 jobs processing at once" });
    await waitFor(async () => (await statusCounts(db.sql)).completed === before + 16, {
      timeoutMs: 60_000,
      what: "the slow jobs completed",
    });
    const a = await audit(db.sql);
    await report("poison job", {
      command: "deno test -A tests/faults/poison_test.ts",
      jobs: 120,
      faults: "4 poison jobs × 3 attempts (2 throw from a timer, 2 self.close())",
      lost: a.notCompleted - 4,
      duplicated: a.duplicateCompletions,
      runners_replaced: replaced,
      runners_running_after: health.runners.filter((r) => r.state === "running").length,
      run_s: Number(seconds.toFixed(1)),
    });
    assert(replaced >= 12, `a runner replaced per poison attempt (${replaced})`);
    assert(most >= 4, "4 jobs at once");
    assertEquals(a.duplicateCompletions, 0);
    assertEquals(a.status.completed, 116);
  } finally {
    await stopAll(procs);
    await db.drop();
  }
});
