/**
 * Clock skew: worker processes whose clocks run 10 minutes ahead and behind
 * (Date faked in the main thread and every Web Worker) share a queue with a
 * correct one. Leases are judged by the database's clock, so none steals a
 * live lease (no rescue, no lost lease) and every job completes once.
 */
import * as jobs from "../../lib/queue/jobs.ts";
import { assertEquals } from "../_helpers/assert.ts";
import { createTestDb } from "../_helpers/db.ts";
import { insertJob } from "../_helpers/factory.ts";
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

const TEN_MIN = 10 * 60_000;

Deno.test("faults: worker processes 10 minutes ahead and behind neither steal live leases nor lose jobs", async () => {
  const db = await createTestDb();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-fault-skew-" });
  const procs: Proc[] = [];
  try {
    const ahead = await spawnWorker(db.url, dataDir, { skewMs: TEN_MIN });
    const behind = await spawnWorker(db.url, dataDir, { skewMs: -TEN_MIN });
    const right = await spawnWorker(db.url, dataDir);
    procs.push(ahead, behind, right);
    // The fake clock is in effect: the skewed processes log times 10 minutes off.
    const skewOf = (p: Proc) => Date.parse(p.lines[p.lines.length - 1].at) - Date.now();
    const skews = [skewOf(ahead), skewOf(behind)].map((s) => Math.round(s / 60_000));
    assertEquals(skews, [10, -10], "log clocks of the skewed processes (minutes)");
    const t0 = performance.now();
    // Jobs longer than the 3 s lease: they live only by renewal.
    await enqueueWork(db.sql, { count: 12, ms: 4000 });
    await enqueueWork(db.sql, { count: 300, ms: 10 });
    await waitFor(async () => (await statusCounts(db.sql)).completed === 312, {
      timeoutMs: 120_000,
      what: "all 312 jobs completed",
    });
    const seconds = (performance.now() - t0) / 1000;
    const a = await audit(db.sql);
    const [{ rescued }] = await db.sql<{ rescued: number }[]>`
      SELECT count(*)::int AS rescued FROM job_event WHERE kind = 'rescued'`;
    const byProc = await db.sql<{ pid: string; n: number }[]>`
      SELECT split_part(worker, ':', 2) AS pid, count(*)::int AS n FROM job_event
      WHERE kind = 'completed' GROUP BY 1`;
    const leaseLost = procs.flatMap((p) =>
      p.lines
    ).filter((l) => l.msg === "job.lease_lost").length;
    await report("clock skew", {
      command: "deno test -A tests/faults/clock_skew_test.ts",
      jobs: 312,
      faults: "2 of 3 worker processes at +10 min / −10 min",
      lost: a.notCompleted,
      duplicated: a.duplicateCompletions,
      rerun: a.rerun,
      rescued,
      lease_lost: leaseLost,
      completed_by_pid: Object.fromEntries(byProc.map((r) => [r.pid, r.n])),
      run_s: Number(seconds.toFixed(1)),
    });
    assertEquals(a.notCompleted, 0);
    assertEquals(a.rerun, 0, "no job ran twice");
    assertEquals(rescued, 0, "no live lease rescued");
    assertEquals(leaseLost, 0, "no lease lost");
    assertEquals(byProc.length, 3, "every process did work");
  } finally {
    await stopAll(procs);
    await db.drop();
  }
});

Deno.test("faults: lease decisions use the database clock (now: null), never the caller's", async () => {
  const db = await createTestDb();
  try {
    const [{ now }] = await db.sql<{ now: Date }[]>`SELECT now()`;
    const live = await insertJob(db.sql, {
      status: "processing",
      locked_by: "w/1",
      locked_until: new Date(now.getTime() + 60_000),
    });
    const expired = await insertJob(db.sql, {
      status: "processing",
      locked_by: "w/2",
      locked_until: new Date(now.getTime() - 1000),
    });
    const rescued = await jobs.rescueExpired(db.sql, {});
    assertEquals(rescued.map((r) => r.id), [expired.id]);
    // A lease renewed by a worker whose clock is far behind still runs from the database's now.
    await jobs.extendLease(db.sql, { worker: "w/1", ids: [live.id], leaseSeconds: 30 });
    const [{ left }] = await db.sql<{ left: number }[]>`
      SELECT extract(epoch FROM locked_until - now())::float AS left FROM job WHERE id = ${live.id}`;
    assertEquals(left > 25 && left <= 30, true, `lease left: ${left}`);
    // A scheduled job is not claimable before the database says so.
    await jobs.enqueue(db.sql, {
      job: { type: "work", payload: {}, scheduled_for: new Date(now.getTime() + 60_000) },
    });
    const claimed = await jobs.claim(db.sql, { worker: "w/3", leaseSeconds: 30, types: ["work"] });
    assertEquals(claimed.length, 0);
  } finally {
    await db.drop();
  }
});
