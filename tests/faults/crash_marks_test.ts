/**
 * kill -9 of a worker process whose runner holds a batch it has only begun:
 * the jobs it never started are given back uncharged by the rescue, every
 * job it started keeps its attempt (worker/runner_marks.ts, migration
 * 0022). One runner, of one slot or of four, whose jobs log their start
 * synchronously to a file; jobs that never end, one per slot, hold the
 * runner at a known place in its batch.
 */
import { rescueExpired } from "../../lib/queue/rescue.ts";
import { jobs } from "../../lib/queue/mod.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { createTestDb, type TestDb } from "../_helpers/db.ts";
import { report, spawnWorker, stopAll, waitFor } from "../_helpers/faults.ts";

/** Enqueues `start_log` jobs (one statement), numbered from `from`. */
async function add(db: TestDb, n: number, from: number, priority: number, block = false) {
  await jobs.enqueueBatch(db.sql, {
    jobs: Array.from({ length: n }, (_, i) => ({
      type: "start_log",
      payload: { n: from + i, block },
      priority,
      max_attempts: 3,
    })),
    notify: "jobq_new",
  });
}

/** The job numbers in the start log. */
async function starts(path: string): Promise<Set<number>> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return new Set(text.split("\n").filter(Boolean).map(Number));
}

/**
 * Warms one runner up (its claims size by its jobs' pace), then enqueues
 * `before` jobs, a blocking job and `after` jobs in claim order, so that one
 * claim takes them together; kills the process once the blocking job runs,
 * and rescues with the clock past the leases. Returns what it found.
 */
async function scenario(name: string, before: number, after: number, slots: number) {
  const db = await createTestDb();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-fault-marks-" });
  const log = await Deno.makeTempFile({ prefix: "jobq-starts-" });
  const procs = [];
  try {
    // The lead the assertions count on (the default, said here).
    const worker = await spawnWorker(db.url, dataDir, {
      env: {
        WORKER_CONCURRENCY: "1",
        WORKER_JOBS_PER_RUNNER: String(slots),
        JOB_LEASE_SECONDS: "30",
        JOBQ_TEST_STARTS: log,
      },
      args: ["--mark-lead", "32"],
    });
    procs.push(worker);
    await add(db, 40, 0, 3);
    await waitFor(async () => (await starts(log)).size === 40, {
      timeoutMs: 60_000,
      what: "the warm-up jobs",
    });
    await waitFor(async () => {
      const [{ n }] = await db.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM job WHERE status = 'completed'`;
      return n === 40;
    }, { timeoutMs: 30_000, what: "the warm-up jobs written" });
    // In claim order: `before` jobs (priority 5), a blocking job per slot (4),
    // `after` jobs (3). The blocking jobs fill the runner's slots: it starts
    // nothing after them.
    const BLOCK = 1000;
    await db.sql.begin(async (tx) => {
      await add({ ...db, sql: tx as never }, before, 100, 5);
      await add({ ...db, sql: tx as never }, slots, BLOCK, 4, true);
      await add({ ...db, sql: tx as never }, after, 2000, 3);
    });
    const blocks = Array.from({ length: slots }, (_, i) => BLOCK + i);
    await waitFor(async () => {
      const ran = await starts(log);
      return blocks.every((n) => ran.has(n));
    }, {
      timeoutMs: 60_000,
      what: "the blocking jobs to start",
    });
    const held = await db.sql<{ id: string; n: number }[]>`
      SELECT id, (payload->>'n')::int AS n FROM job WHERE status = 'processing'
      ORDER BY priority DESC, created_at, id`;
    worker.kill("SIGKILL");
    await worker.status;
    // The runner's batch in claim order (its jobs finished and written
    // meanwhile too), and the place of its mark's bound in it.
    const [mark] = await db.sql<{ bound: string | null }[]>`SELECT bound FROM runner_mark`;
    const batch = await db.sql<{ id: string; n: number }[]>`
      SELECT id, (payload->>'n')::int AS n FROM job
      WHERE started_at = (SELECT claimed_at FROM runner_mark)
      ORDER BY priority DESC, created_at, id`;
    const boundAt = mark.bound ? batch.findIndex((h) => h.id === mark.bound) : batch.length;
    const ran = await starts(log);
    const rescued = await rescueExpired(db.sql, { now: new Date(Date.now() + 3_600_000) });
    const byId = new Map(rescued.map((r) => [r.id, r]));
    const refunded = held.filter((h) => byId.get(h.id)?.counted === false);
    // Nothing after the blocking jobs started.
    const last = Math.max(...blocks.map((n) => batch.findIndex((h) => h.n === n)));
    assert(batch.slice(last + 1).every((h) => !ran.has(h.n)), "the runner held at its slots");
    await report(name, {
      command: "deno test -A tests/faults/crash_marks_test.ts",
      slots,
      held_at_kill: held.length,
      batch: batch.length,
      started: batch.filter((h) => ran.has(h.n)).length,
      bound_at: boundAt,
      given_back_uncharged: refunded.length,
    });
    assertEquals(rescued.length, held.length, "every held job rescued");
    for (const h of held) {
      if (ran.has(h.n)) {
        assert(byId.get(h.id)?.counted, `job ${h.n} started: its attempt counts`);
      }
    }
    for (const h of refunded) {
      assert(!ran.has(h.n), `job ${h.n} given back uncharged never started`);
    }
    assertEquals(
      batch.slice(boundAt).map((h) => h.n),
      refunded.map((h) => h.n),
      "exactly the jobs from the bound on are given back",
    );
    const rows = await db.sql<{ attempts: number }[]>`
      SELECT attempts FROM job WHERE id = ANY(${refunded.map((h) => h.id)}::uuid[])`;
    assert(rows.every((r) => r.attempts === 0), "given back with no attempt counted");
    return {
      batch,
      boundAt,
      refunded,
      blockAt: Math.min(...blocks.map((n) => batch.findIndex((h) => h.n === n))),
    };
  } finally {
    await stopAll(procs);
    await db.drop();
    await Deno.remove(log).catch(() => {});
  }
}

for (const slots of [1, 4]) {
  const runner = slots === 1 ? "a runner of one slot" : `a runner of ${slots} slots`;

  Deno.test({
    name:
      `crash marks, ${runner}: kill -9 at the start of a batch gives back the jobs from the claim's bound on`,
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const r = await scenario(`kill -9 at a batch's first job, ${runner}`, 0, 120, slots);
    assertEquals(r.blockAt, 0);
    assertEquals(r.boundAt, 32, "the claim's bound");
    assertEquals(r.refunded.length, r.batch.length - 32);
    assert(r.refunded.length > 0);
  });

  Deno.test({
    name:
      `crash marks, ${runner}: kill -9 further into a batch gives back the jobs past the bound its supervisor moved`,
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const r = await scenario(`kill -9 past a batch's first bound, ${runner}`, 40, 80, slots);
    assertEquals(r.blockAt, 40);
    assert(r.boundAt > 40, `the bound (${r.boundAt}) moved past the job running`);
  });
}
