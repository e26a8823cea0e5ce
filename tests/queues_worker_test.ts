/**
 * Named queues with real worker processes: a queue limited to 1 served by
 * two processes of 4 Web Workers each never runs two of its jobs at once
 * (the running count is sampled throughout) and all complete; a paused
 * queue's due job waits while others run and runs once resumed; a worker
 * restricted by WORKER_QUEUES=a never takes a job of queue b.
 */
import * as jobs from "../lib/queue/jobs.ts";
import * as queues from "../lib/queue/queues.ts";
import type { Sql } from "../lib/db.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";
import { signal, spawnWorker, type WorkerProc } from "./_helpers/worker_proc.ts";
import { TEST_HANDLERS } from "./_helpers/worker_sup.ts";

const started = (p: WorkerProc) =>
  p.waitForLog((l) => l.msg === "worker.started", 60_000, "worker.started");

const brief = (queue: string, n: number, ms = 60) =>
  Array.from({ length: n }, () => ({ type: "brief", payload: { ms }, queue }));

async function statusOf(sql: Sql, queue: string): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }[]>`
    SELECT status, count(*)::int AS n FROM job WHERE queue = ${queue} GROUP BY status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Polls `pred` every 20 ms until it holds (generous deadline). */
async function until(pred: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("queues with worker processes: a limit of 1 across 2×4 runners, pause/resume, WORKER_QUEUES", async (t) => {
  const db = await createTestDb();
  const sql = db.sql;
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-queues-" });
  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    WORKER_CONCURRENCY: "4",
    JOB_LEASE_SECONDS: "10",
    LOG_LEVEL: "info",
  };
  const args = [`--handlers=${TEST_HANDLERS}`];
  const procs: WorkerProc[] = [];
  const wake = () => sql`SELECT pg_notify('jobq_new', '')`;
  try {
    const a = spawnWorker(env, args);
    const b = spawnWorker(env, args);
    procs.push(a, b);
    await Promise.all([started(a), started(b)]);

    await t.step("a queue limited to 1: never more than 1 running, all complete", async () => {
      await sql`INSERT INTO queue (name, concurrency) VALUES ('solo', 1)`;
      const N = 16;
      await jobs.enqueueBatch(sql, { jobs: [...brief("solo", N), ...brief("wide", 16)] });
      await wake();
      let max = 0;
      let samples = 0;
      let seenRunning = 0;
      const end = Date.now() + 90_000;
      for (;;) {
        const [{ running, done }] = await sql<{ running: number; done: number }[]>`
          SELECT count(*) FILTER (WHERE status = 'processing')::int AS running,
                 count(*) FILTER (WHERE status = 'completed')::int AS done
          FROM job WHERE queue = 'solo'`;
        samples++;
        max = Math.max(max, running);
        if (running > 0) seenRunning++;
        if (done === N) break;
        assert(Date.now() < end, `solo queue did not finish: ${done}/${N}`);
      }
      console.log(`limit 1: ${samples} samples, ${seenRunning} with a job running, max ${max}`);
      assertEquals(max, 1);
      assert(seenRunning > 0);
      await until(async () => (await statusOf(sql, "wide")).completed === 16, "wide queue");
      // Both processes served the limited queue or the other one: nothing ran twice.
      const [{ claims }] = await sql<{ claims: number }[]>`
        SELECT count(*)::int AS claims FROM job_event e JOIN job j ON j.id = e.job_id
        WHERE j.queue = 'solo' AND e.kind = 'claimed'`;
      assertEquals(claims, N);
    });

    await t.step("pause: a due job waits while others run; resume: it runs", async () => {
      await sql`INSERT INTO queue (name, paused) VALUES ('held', true)`;
      const [held] = await jobs.enqueueBatch(sql, { jobs: brief("held", 1) });
      const after = await jobs.enqueueBatch(sql, { jobs: brief("other", 4) });
      await wake();
      // The later jobs of another queue complete: the workers claimed past the held job.
      await until(
        async () => (await statusOf(sql, "other")).completed === after.length,
        "the other queue's jobs",
      );
      assertEquals((await jobs.get(sql, { id: held.id }))?.status, "pending");
      await queues.update(sql, { name: "held", change: { paused: false } });
      await wake();
      await until(
        async () => (await jobs.get(sql, { id: held.id }))?.status === "completed",
        "the resumed job",
      );
    });

    await t.step("WORKER_QUEUES=a: that worker never takes a job of queue b", async () => {
      for (const p of [a, b]) signal(p, "SIGTERM");
      await Promise.all([a.status, b.status]);
      const c = spawnWorker({ ...env, WORKER_QUEUES: "qa" }, args);
      procs.push(c);
      const id = String((await started(c)).worker);
      await jobs.enqueueBatch(sql, { jobs: [...brief("qb", 6), ...brief("qa", 6)] });
      await jobs.enqueueBatch(sql, { jobs: brief("qb", 6) });
      await wake();
      await until(async () => (await statusOf(sql, "qa")).completed === 6, "queue qa");
      assertEquals(await statusOf(sql, "qb"), { pending: 12 });
      const [{ n }] = await sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM job_event e JOIN job j ON j.id = e.job_id
        WHERE j.queue = 'qb' AND e.kind = 'claimed'`;
      assertEquals(n, 0);
      const [{ mine }] = await sql<{ mine: number }[]>`
        SELECT count(*)::int AS mine FROM job_event e JOIN job j ON j.id = e.job_id
        WHERE j.queue = 'qa' AND e.kind = 'claimed' AND e.worker LIKE ${id + "/%"}`;
      assertEquals(mine, 6);
      // Its worker row says what it serves, so a job of qb is explained as having no worker.
      const [row] = await sql<
        { queues: unknown }[]
      >`SELECT info->'queues' AS queues FROM worker WHERE id = ${id}`;
      assertEquals(row.queues, ["qa"]);
      const [waiting] = await sql<{ id: string }[]>`SELECT id FROM job WHERE queue = 'qb' LIMIT 1`;
      assertEquals((await jobs.explain(sql, { id: waiting.id })).code, "no_worker");
      const [done] = await sql<{ id: string }[]>`SELECT id FROM job WHERE queue = 'qa' LIMIT 1`;
      assertEquals((await jobs.explain(sql, { id: done.id })).code, "completed");
    });
  } finally {
    for (const p of procs) signal(p, "SIGKILL");
    await Promise.all(procs.map((p) => p.status));
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
