/**
 * Worker processes for real: two `deno task worker` processes drain a queue;
 * one is killed with SIGKILL mid-run and the other finishes its jobs after
 * the lease; SIGTERM stops gracefully. Measurements are printed, not asserted.
 */
import { join } from "node:path";
import * as jobs from "../lib/queue/jobs.ts";
import type { JobEvent } from "../lib/queue/types.ts";
import { FORCE_AFTER_MS } from "../lib/stop_signals.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";
import { listNames } from "./_helpers/worker_paths.ts";
import { signal, spawnWorker, type WorkerProc } from "./_helpers/worker_proc.ts";
import { TEST_HANDLERS } from "./_helpers/worker_sup.ts";

const started = (p: WorkerProc) =>
  p.waitForLog((l) => l.msg === "worker.started", 60_000, "worker.started");
const workerIdOf = async (p: WorkerProc) => String((await started(p)).worker);

async function eventsByJob(sql: import("../lib/db.ts").Sql): Promise<Map<string, JobEvent[]>> {
  const rows = await sql<JobEvent[]>`SELECT * FROM job_timeline ORDER BY id`;
  const out = new Map<string, JobEvent[]>();
  for (const e of rows) out.set(e.job_id, [...(out.get(e.job_id) ?? []), e]);
  return out;
}

Deno.test("worker processes: two processes × 4 Web Workers drain 3,000 email jobs, each once", async () => {
  const db = await createTestDb();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-drain-" });
  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    WORKER_CONCURRENCY: "4",
    JOB_LEASE_SECONDS: "10",
  };
  const a = spawnWorker(env);
  const b = spawnWorker(env);
  try {
    const ids = [await workerIdOf(a), await workerIdOf(b)];
    const N = 3000;
    const t0 = performance.now();
    for (let i = 0; i < N; i += 1000) {
      await jobs.enqueueBatch(db.sql, {
        jobs: Array.from({ length: 1000 }, (_, k) => ({
          type: "email",
          payload: {
            to: `user${i + k}@example.com`,
            subject: `Hello ${i + k}`,
            body: "Drain test.",
          },
        })),
      });
      await db.sql`SELECT pg_notify('jobq_new', '')`;
    }
    // Cheap check (it runs on every chunk of output): a slow reader would
    // back-pressure the workers' stderr and slow them down.
    const all = () => a.completed.size + b.completed.size >= N;
    await Promise.race([
      a.waitUntil(all, 150_000, `${N} completions`),
      b.waitUntil(all, 150_000, `${N} completions`),
    ]);
    const seconds = (performance.now() - t0) / 1000;
    const rss = [await a.rss(), await b.rss()];
    console.log(
      `drain: ${N} email jobs in ${seconds.toFixed(2)} s = ${
        Math.round(N / seconds)
      } jobs/s; RSS per worker process (4 Web Workers): ${
        rss.map((r) => `${Math.round(r / 1048576)} MiB`).join(", ")
      }`,
    );

    const [{ completed, total }] = await db.sql<{ completed: number; total: number }[]>`
      SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed, count(*)::int AS total FROM job`;
    assertEquals([completed, total], [N, N]);
    const [{ events, distinct }] = await db.sql<{ events: number; distinct: number }[]>`
      SELECT count(*)::int AS events, count(DISTINCT job_id)::int AS distinct
      FROM job_event WHERE kind = 'completed'`;
    assertEquals([events, distinct], [N, N], "one completed event per job");
    const names = await listNames(join(dataDir, "outbox"));
    const jobIds = (await db.sql<{ id: string }[]>`SELECT id FROM job ORDER BY id`).map((r) =>
      r.id
    );
    assertEquals(names, jobIds.map((id) => `${id}.eml`).sort(), "exactly one .eml per job");
    const claimers = (await db.sql<{ worker: string }[]>`
      SELECT DISTINCT worker FROM job_event WHERE kind = 'claimed' ORDER BY worker`).map((r) =>
      r.worker
    );
    assertEquals(
      claimers,
      ids.flatMap((id) => [1, 2, 3, 4].map((n) => `${id}/${n}`)).sort(),
      "claims from every Web Worker of both processes",
    );
    const [{ n: registered }] = await db.sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM worker`;
    assertEquals(registered, 2);

    signal(a, "SIGTERM");
    signal(b, "SIGTERM");
    assertEquals((await a.status).code, 0);
    assertEquals((await b.status).code, 0);
    const [{ n: left }] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM worker`;
    assertEquals(left, 0, "both processes unregistered");
  } finally {
    signal(a, "SIGKILL");
    signal(b, "SIGKILL");
    await a.status;
    await b.status;
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("worker processes: after kill -9, the lease expires and the other process finishes every job", async () => {
  const db = await createTestDb();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-kill-" });
  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    WORKER_CONCURRENCY: "4",
    JOB_LEASE_SECONDS: "2",
  };
  const args = [`--handlers=${TEST_HANDLERS}`];
  const victim = spawnWorker(env, args);
  const survivor = spawnWorker(env, args);
  try {
    const victimId = await workerIdOf(victim);
    const survivorId = await workerIdOf(survivor);
    const N = 120;
    await jobs.enqueueBatch(db.sql, {
      jobs: Array.from({ length: N }, () => ({ type: "slow_email", payload: { ms: 250 } })),
    });
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await victim.waitUntil(() => victim.completed.size >= 8, 60_000, "8 completions");
    signal(victim, "SIGKILL");
    const killedAt = Date.now();
    assertEquals((await victim.status).signal, "SIGKILL");

    const open = new Set((await db.sql<{ id: string }[]>`
      SELECT id FROM job WHERE status <> 'completed'`).map((r) => r.id));
    await survivor.waitUntil(
      () => [...open].every((id) => survivor.completed.has(id)),
      90_000,
      "the survivor completing every open job",
    );
    // The jobs the killed process held: claimed by it, never completed by it.
    const byJob = await eventsByJob(db.sql);
    const held = [...byJob].filter(([, evs]) =>
      evs.some((e) => e.kind === "claimed" && e.worker!.startsWith(victimId + "/")) &&
      !evs.some((e) => e.kind === "completed" && e.worker!.startsWith(victimId + "/"))
    ).map(([id]) => id);
    assert(held.length > 0, "the killed process held jobs when it died");
    const lastRescued = Math.max(
      ...survivor.lines.filter((l) => l.msg === "job.completed" && held.includes(String(l.job_id)))
        .map((l) => Date.parse(l.at)),
    );
    console.log(
      `kill -9: ${held.length} jobs held by the killed process; last of them completed ${
        lastRescued - killedAt
      } ms after the kill (lease 2 s)`,
    );

    const [{ completed }] = await db.sql<{ completed: number }[]>`
      SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed FROM job`;
    assertEquals(completed, N);
    for (const id of held) {
      const kinds = byJob.get(id)!.map((e) => e.kind);
      assertEquals(kinds, ["created", "claimed", "rescued", "claimed", "completed"], id);
      const [c1, r, c2] = byJob.get(id)!.slice(1, 4);
      assert(c1.worker!.startsWith(victimId + "/") && r.worker === c1.worker);
      assert(c2.worker!.startsWith(survivorId + "/"), "re-run by the survivor");
    }
    for (const [id, evs] of byJob) {
      const claims = evs.filter((e) => e.kind === "claimed").length;
      const rescues = evs.filter((e) => e.kind === "rescued").length;
      assertEquals(claims, 1 + rescues, `every re-run of ${id} follows a rescue`);
      assertEquals(evs.filter((e) => e.kind === "completed").length, 1);
    }
    const names = await listNames(join(dataDir, "outbox"));
    assertEquals(names.length, N, "one .eml per job, re-runs overwrote");

    signal(survivor, "SIGTERM");
    assertEquals((await survivor.status).code, 0);
  } finally {
    signal(victim, "SIGKILL");
    signal(survivor, "SIGKILL");
    await victim.status;
    await survivor.status;
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("worker processes: SIGTERM lets running jobs finish, gives the rest back, exits 0", async () => {
  const db = await createTestDb();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-term-" });
  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    WORKER_CONCURRENCY: "2",
    SHUTDOWN_GRACE_SECONDS: "20",
  };
  const p = spawnWorker(env, [`--handlers=${TEST_HANDLERS}`]);
  try {
    const id = await workerIdOf(p);
    const batch = await jobs.enqueueBatch(db.sql, {
      jobs: Array.from({ length: 8 }, () => ({ type: "slow_email", payload: { ms: 1500 } })),
    });
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    // Both runners claim a batch and start their first job.
    await p.waitUntil(
      (ls) => new Set(ls.filter((l) => l.msg === "jobs.claimed").map((l) => l.worker)).size === 2,
      30_000,
      "claims by both runners",
    );
    signal(p, "SIGTERM");
    assertEquals((await p.status).code, 0);
    const rows = await db.sql<{ id: string; status: string; attempts: number }[]>`
      SELECT id, status, attempts FROM job ORDER BY id`;
    assertEquals(rows.length, batch.length);
    const completed = rows.filter((r) => r.status === "completed");
    const pending = rows.filter((r) => r.status === "pending");
    assertEquals(completed.length + pending.length, 8, "nothing left processing");
    assert(completed.length >= 2, "the running jobs finished within the grace period");
    for (const r of pending) assertEquals(r.attempts, 0, "a give-back is not an attempt");
    const byJob = await eventsByJob(db.sql);
    for (const r of pending) {
      const evs = byJob.get(r.id)!;
      if (evs.some((e) => e.kind === "claimed")) {
        assertEquals(evs.at(-1)!.kind, "released");
      }
    }
    assert(p.lines.some((l) => l.msg === "worker.stopped" && l.worker === id));
    const [{ n }] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM worker`;
    assertEquals(n, 0, "unregistered");
  } finally {
    signal(p, "SIGKILL");
    await p.status;
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("worker processes: past the grace period running jobs go back; a second signal exits at once", async (t) => {
  const db = await createTestDb();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-grace-" });
  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    WORKER_CONCURRENCY: "1",
    SHUTDOWN_GRACE_SECONDS: "1",
  };
  try {
    await t.step("grace period over: the running job is released, exit code 0", async () => {
      const p = spawnWorker(env, [`--handlers=${TEST_HANDLERS}`]);
      try {
        await started(p);
        const job = await jobs.enqueue(db.sql, {
          job: { type: "slow_email", payload: { ms: 30_000 } },
        });
        await db.sql`SELECT pg_notify('jobq_new', '')`;
        await p.waitForLog((l) => l.msg === "jobs.claimed", 30_000, "the claim");
        signal(p, "SIGTERM");
        assertEquals((await p.status).code, 0);
        assert(p.lines.some((l) => l.msg === "worker.grace_over"));
        const row = (await jobs.getWithEvents(db.sql, { id: job.id }))!;
        assertEquals([row.status, row.attempts], ["pending", 0]);
        assertEquals(row.events.map((e) => e.kind), ["created", "claimed", "released"]);
        await jobs.cancel(db.sql, { id: job.id });
      } finally {
        signal(p, "SIGKILL");
        await p.status;
      }
    });

    await t.step(
      "a second signal a second later exits at once; the lease brings the job back",
      async () => {
        const p = spawnWorker({ ...env, SHUTDOWN_GRACE_SECONDS: "60" }, [
          `--handlers=${TEST_HANDLERS}`,
        ]);
        try {
          await started(p);
          const job = await jobs.enqueue(db.sql, {
            job: { type: "slow_email", payload: { ms: 30_000 } },
          });
          await db.sql`SELECT pg_notify('jobq_new', '')`;
          await p.waitForLog((l) => l.msg === "jobs.claimed", 30_000, "the claim");
          signal(p, "SIGTERM");
          const first = performance.now();
          await p.waitForLog((l) => l.msg === "worker.stopping", 10_000, "worker.stopping");
          // A repeat within FORCE_AFTER_MS is the same request (see group_signal_test.ts).
          const left = FORCE_AFTER_MS + 200 - (performance.now() - first);
          await new Promise((r) => setTimeout(r, Math.max(0, left)));
          signal(p, "SIGTERM");
          assertEquals((await p.status).code, 130);
          const row = (await jobs.get(db.sql, { id: job.id }))!;
          assertEquals(row.status, "processing", "left for the rescuer");
        } finally {
          signal(p, "SIGKILL");
          await p.status;
        }
      },
    );
  } finally {
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
