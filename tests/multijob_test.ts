/**
 * WORKER_JOBS_PER_RUNNER: one Web Worker runs several jobs at once, claims
 * only its free slots when jobs are slow, and when it must be replaced (a cancel
 * ignored past its grace, a timeout ignored, a blocked event loop) the job at
 * fault alone is charged: the others it was running go back to pending
 * without losing an attempt and complete on the next runner; so do the jobs
 * a claim it sent took, when the shutdown grace runs out. kill -9 of
 * processes running 4 × 4 jobs loses nothing.
 */
import * as jobs from "../lib/queue/jobs.ts";
import * as queues from "../lib/queue/queues.ts";
import type { Job, JobEvent } from "../lib/queue/types.ts";
import type { Supervisor } from "../worker/supervisor.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb, type TestDb } from "./_helpers/db.ts";
import { killNineScenario } from "./_helpers/fault_scenarios.ts";
import { collect, enqueue, testSupervisor } from "./_helpers/worker_sup.ts";

const HANDLERS = new URL("./_helpers/multijob_handlers.ts", import.meta.url).href;

/** Follows the event stream: the jobs each runner holds (claimed, not yet ended) and the most ever held. */
function holdings(sup: Supervisor) {
  const held = new Map<string, Set<string>>();
  let most = 0;
  const off = sup.on((e) => {
    if (e.kind === "claimed") {
      const mine = held.get(e.worker) ?? new Set<string>();
      held.set(e.worker, mine);
      for (const j of e.jobs) mine.add(j.id);
      most = Math.max(most, mine.size);
    } else if (
      e.kind === "completed" || e.kind === "failed" || e.kind === "cancelled" ||
      e.kind === "released" || e.kind === "lost"
    ) {
      held.get(e.worker)?.delete(e.job.id);
    }
  });
  return { most: () => most, off };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function withEvents(db: TestDb, id: string): Promise<Job & { events: JobEvent[] }> {
  const j = await jobs.getWithEvents(db.sql, { id });
  assert(j, `job ${id} exists`);
  return j;
}

Deno.test("jobs per runner: one Web Worker runs 4 jobs at once and never holds more than 4", async () => {
  const db = await createTestDb();
  const { sup } = await testSupervisor(db.url, {
    handlersModule: HANDLERS,
    concurrency: 1,
    jobsPerRunner: 4,
  });
  const track = holdings(sup);
  try {
    const list: Job[] = [];
    for (let i = 0; i < 10; i++) list.push(await enqueue(db.sql, "slow", { ms: 400 }));
    const done = collect(sup, ["completed"], (es) => es.length === 10);
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    // The supervisor's accounting counts jobs: one runner, four jobs running.
    await until("4 jobs running in the one runner", () => sup.runners()[0].jobs.length === 4);
    const [row] = await db.sql<{ concurrency: number; info: { jobs_per_runner: number } }[]>`
      SELECT concurrency, info FROM worker`;
    assertEquals([row.concurrency, row.info.jobs_per_runner], [4, 4]);
    await done;

    const results = await db.sql<{ id: string; began: string; ended: string }[]>`
      SELECT id, result->>'began' AS began, result->>'ended' AS ended
      FROM job WHERE status = 'completed' ORDER BY (result->>'began')::bigint`;
    assertEquals(results.length, 10);
    // The first four ran at the same time: each began before any of them ended.
    const first = results.slice(0, 4);
    const lastBegan = Math.max(...first.map((r) => Number(r.began)));
    const firstEnded = Math.min(...first.map((r) => Number(r.ended)));
    assert(lastBegan < firstEnded, `4 handlers overlap (${JSON.stringify(first)})`);
    // Claims never exceed free slots: at most 4 held at any time, and 4 reached.
    assertEquals(track.most(), 4);
    for (const j of list) assertEquals((await withEvents(db, j.id)).attempts, 1);
  } finally {
    track.off();
    await sup.stop();
    await db.drop();
  }
});

/**
 * Runs 3 `slow` jobs (of `ms`: long enough to be running still when the
 * culprit gets its Web Worker replaced) and one `culprit` in one Web Worker, waits until all
 * four run, then (optionally) cancels the culprit. The runner is replaced;
 * returns the jobs once the three others completed.
 */
async function oneBadAmongFour(
  db: TestDb,
  sup: Supervisor,
  culpritType: string,
  cancel: boolean,
  reason: string,
  ms: number,
) {
  const good: Job[] = [];
  for (let i = 0; i < 3; i++) good.push(await enqueue(db.sql, "slow", { ms }));
  const bad = await enqueue(db.sql, culpritType, {}, { max_attempts: 1 });
  const replaced = sup.waitFor("replaced", (e) => e.reason === reason, 20_000);
  const goodDone = collect(
    sup,
    ["completed"],
    (es) => good.every((g) => es.some((e) => e.kind === "completed" && e.job.id === g.id)),
  );
  await db.sql`SELECT pg_notify('jobq_new', '')`;
  await until("4 jobs running in the one runner", () => sup.runners()[0].jobs.length === 4);
  if (cancel) await jobs.cancel(db.sql, { id: bad.id });
  await replaced;
  await goodDone;
  await until(
    "the culprit to end",
    async () => !["pending", "processing"].includes((await withEvents(db, bad.id)).status),
  );
  const badRow = await withEvents(db, bad.id);
  const goodRows = await Promise.all(good.map((g) => withEvents(db, g.id)));
  for (const g of goodRows) {
    assertEquals([g.status, g.attempts], ["completed", 1], `innocent job ${g.id}`);
    const kinds = g.events.map((e) => e.kind);
    assertEquals(kinds.filter((k) => k === "released").length, 1, kinds.join());
    assertEquals(kinds.filter((k) => k === "claimed").length, 2, kinds.join());
    assert(!kinds.includes("failed") && !kinds.includes("rescued"), kinds.join());
  }
  return badRow;
}

Deno.test("jobs per runner: a cancel ignored past its grace replaces the Web Worker; its 3 other jobs are given back and complete, uncharged", async () => {
  const db = await createTestDb();
  const { sup } = await testSupervisor(db.url, {
    handlersModule: HANDLERS,
    concurrency: 1,
    jobsPerRunner: 4,
    env: { CANCEL_GRACE_SECONDS: "1" },
  });
  try {
    const bad = await oneBadAmongFour(db, sup, "deaf", true, "cancel", 2500);
    assertEquals([bad.status, bad.attempts], ["cancelled", 1]);
    assertEquals(bad.events.filter((e) => e.kind === "failed").length, 0);
  } finally {
    await sup.stop();
    await db.drop();
  }
});

for (const culprit of ["hang", "block"]) {
  const how = culprit === "hang" ? "ignores its timeout" : "blocks the event loop";
  Deno.test(`jobs per runner: a handler that ${how} is charged alone; the 3 others in its Web Worker are given back and complete`, async () => {
    const db = await createTestDb();
    const { sup } = await testSupervisor(db.url, {
      handlersModule: HANDLERS,
      concurrency: 1,
      jobsPerRunner: 4,
    });
    try {
      const bad = await oneBadAmongFour(
        db,
        sup,
        culprit,
        false,
        "timeout",
        // A blocked event loop cannot end them early.
        culprit === "hang" ? 2500 : 1500,
      );
      assertEquals([bad.status, bad.attempts], ["failed", 1]);
      assert(bad.error?.includes("timed out after 1 s"), bad.error ?? "");
    } finally {
      await sup.stop();
      await db.drop();
    }
  });
}

Deno.test("jobs per runner: kill -9 of a process running 4 runners × 4 jobs loses nothing (rescued)", async () => {
  await killNineScenario("kill -9 (4 runners × 4 jobs)", {
    jobs: 400,
    kills: 1,
    workers: 1,
    command: "deno test -A tests/multijob_test.ts",
    env: { WORKER_CONCURRENCY: "4", WORKER_JOBS_PER_RUNNER: "4" },
  });
});

Deno.test("jobs per runner: jobs a claim took while the grace ran out are given back once it ends, uncharged", async () => {
  const db = await createTestDb();
  const holder = await db.sql.reserve();
  const job = (ms: number) =>
    jobs.enqueue(db.sql, { job: { type: "slow", payload: { ms }, queue: "slow" } });
  // A limited queue: its claims take the queue's claim lock (migrations/0006), which this test holds.
  const long = await job(60_000);
  await queues.update(db.sql, { name: "slow", change: { concurrency: 10 } });
  const { sup } = await testSupervisor(db.url, {
    handlersModule: HANDLERS,
    concurrency: 1,
    jobsPerRunner: 4,
    graceSeconds: 0,
  });
  const runnerName = `jobq-runner ${sup.id}/1`;
  const activeRunnerStatements = async () => {
    const [{ n }] = await db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE application_name = ${runnerName} AND state = 'active'`;
    return n;
  };
  try {
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await until("the long job running", () => sup.runners()[0].jobs.length === 1);
    // The runner's next claim (for its 3 free slots) waits for the queue's lock.
    await holder`BEGIN`;
    await holder`SELECT pg_advisory_xact_lock(7245020, hashtext('slow'))`;
    const more = [await job(60_000), await job(60_000), await job(60_000)];
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await until("the runner's claim waiting for the queue's lock", async () => {
      const [{ n }] = await db.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`;
      return n === 1;
    });
    // No grace: the runner is terminated with its claim in flight; the claim
    // commits once the lock is let go, and takes the three jobs.
    const stopped = sup.stop();
    await new Promise((r) => setTimeout(r, 300));
    await holder`COMMIT`;
    await stopped;
    await until(
      "the runner's statements ended",
      async () => (await activeRunnerStatements()) === 0,
    );
    const rows = await db.sql<{ id: string; status: string; attempts: number }[]>`
      SELECT id, status, attempts FROM job ORDER BY created_at`;
    assertEquals(
      rows.map((r) => [r.id, r.status, r.attempts]),
      [long, ...more].map((j) => [j.id, "pending", 0]),
      "the running job and the three claimed ones given back, no attempt counted",
    );
  } finally {
    await holder`ROLLBACK`.catch(() => {});
    holder.release();
    await sup.stop();
    await db.drop();
  }
});
