/**
 * Fault scenarios shared by tests/faults (CI sizes) and tests/soak (full
 * sizes). Each one runs real worker processes against a database of its own,
 * injects its fault, audits the database and reports its figures.
 */
import type { Sql } from "../../lib/db.ts";
import * as jobs from "../../lib/queue/jobs.ts";
import { assert, assertEquals } from "./assert.ts";
import { createTestDb } from "./db.ts";
import {
  audit,
  enqueueWork,
  hostPort,
  percentile,
  type Proc,
  report,
  spawnWeb,
  spawnWorker,
  startPgProxy,
  statusCounts,
  stopAll,
  waitFor,
} from "./faults.ts";

/** Jobs still locked by any runner of worker process `id`. */
async function heldBy(sql: Sql, id: string): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM job WHERE status = 'processing' AND locked_by LIKE ${id + "/%"}`;
  return n;
}

/**
 * kill -9 of a worker process mid-job, `kills` times during a run of `jobs`
 * jobs drained by `workers` processes (a fresh process replaces each victim).
 * Every job must end completed exactly once; a job run twice must have been
 * held by a killed process and carry a `rescued` event (or a `released` one:
 * its runner had not started it).
 */
export async function killNineScenario(
  name: string,
  opts: {
    jobs: number;
    kills: number;
    workers?: number;
    ms?: number;
    command: string;
    /** More environment of the worker processes (e.g. WORKER_JOBS_PER_RUNNER). */
    env?: Record<string, string>;
  },
): Promise<void> {
  const db = await createTestDb();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-fault-kill-" });
  const procs: Proc[] = [];
  const live: (Proc & { id: string })[] = [];
  const starting: Promise<unknown>[] = [];
  const start = async () => {
    const w = await spawnWorker(db.url, dataDir, { env: opts.env });
    procs.push(w);
    live.push(w);
    return w;
  };
  try {
    for (let i = 0; i < (opts.workers ?? 3); i++) await start();
    const t0 = performance.now();
    await enqueueWork(db.sql, { count: opts.jobs, ms: opts.ms ?? 20 });
    const killed: { pid: number; id: string; held: number }[] = [];
    const recoveries: Promise<number>[] = [];
    for (let k = 0; k < opts.kills; k++) {
      const target = Math.floor((opts.jobs * (k + 1)) / (opts.kills + 3));
      await waitFor(async () => (await statusCounts(db.sql)).completed >= target, {
        timeoutMs: 180_000,
        what: `${target} completions before kill ${k + 1}`,
      });
      // The victim: a live process that holds jobs right now.
      const victim = await waitFor(async () => {
        for (const w of live) if (await heldBy(db.sql, w.id) > 0) return w;
        return null;
      }, { timeoutMs: 30_000, what: `a worker holding jobs (kill ${k + 1})` });
      const held = await heldBy(db.sql, victim.id);
      victim.kill("SIGKILL");
      const killedAt = performance.now();
      await victim.status;
      live.splice(live.indexOf(victim), 1);
      killed.push({ pid: victim.pid, id: victim.id, held });
      recoveries.push(
        waitFor(async () => (await heldBy(db.sql, victim.id)) === 0, {
          timeoutMs: 120_000,
          what: `the jobs of killed ${victim.id} to be rescued`,
        }).then(() => performance.now() - killedAt),
      );
      // The replacement starts in the background: the run goes on meanwhile.
      starting.push(start());
    }
    await Promise.all(starting);
    await waitFor(async () => (await statusCounts(db.sql)).completed === opts.jobs, {
      timeoutMs: 600_000,
      what: `all ${opts.jobs} jobs completed`,
    });
    const seconds = (performance.now() - t0) / 1000;
    const recoverMs = await Promise.all(recoveries);
    const a = await audit(db.sql);
    const killedPids = new Set(killed.map((k) => String(k.pid)));
    const [{ rerunWithoutRescue }] = await db.sql<{ rerunWithoutRescue: number }[]>`
      SELECT count(*)::int AS "rerunWithoutRescue" FROM (
        SELECT job_id FROM job_event GROUP BY job_id
        HAVING count(*) FILTER (WHERE kind = 'claimed') > 1
           AND count(*) FILTER (WHERE kind IN ('rescued', 'released')) = 0) x`;
    // Rescues: charged (`rescued`), or given back uncharged because the
    // killed runner never started them (a `released` event of its runner).
    const [{ givenBack }] = await db.sql<{ givenBack: number }[]>`
      SELECT count(*)::int AS "givenBack" FROM job_event
      WHERE kind = 'released' AND split_part(worker, ':', 2) = ANY(${[...killedPids]}::text[])`;
    const rescued = Object.values(a.rescuedByPid).reduce((x, y) => x + y, 0) + givenBack;
    await report(name, {
      command: opts.command,
      jobs: opts.jobs,
      faults: `${killed.length} × kill -9`,
      held_by_killed: killed.reduce((x, k) => x + k.held, 0),
      lost: a.notCompleted,
      duplicated: a.duplicateCompletions,
      rerun: a.rerun,
      rescued,
      recover_ms_max: Math.round(Math.max(...recoverMs)),
      recover_ms_p50: Math.round(percentile(recoverMs, 50)),
      run_s: Number(seconds.toFixed(1)),
    });
    assertEquals(a.notCompleted, 0, "every job completed");
    assertEquals(a.duplicateCompletions, 0, "no job recorded completed twice");
    assertEquals(a.unexplainedReruns, 0, "every re-run follows a rescue");
    assertEquals(rerunWithoutRescue, 0, "every re-run job has a rescued or released event");
    for (const pid of Object.keys(a.rescuedByPid)) {
      assert(killedPids.has(pid), `rescued from pid ${pid}, which was not killed`);
    }
    assert(a.rerun <= rescued, `re-runs (${a.rerun}) ≤ rescues (${rescued})`);
    assertEquals(a.failedEvents, 0, "no handler failed");
  } finally {
    await stopAll(procs);
    await db.drop();
  }
}

/**
 * A burst of `jobs` enqueues (batches of 500 from 4 concurrent producers)
 * while `workers` processes drain. A probe claimer measures the claim
 * statement's latency throughout (reported, not asserted). No deadlock, no
 * job claimed twice, every job completed once.
 */
export async function burstScenario(
  name: string,
  opts: { jobs: number; workers?: number; command: string },
): Promise<void> {
  const db = await createTestDb();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-fault-burst-" });
  const procs: Proc[] = [];
  try {
    for (let i = 0; i < (opts.workers ?? 3); i++) procs.push(await spawnWorker(db.url, dataDir));
    const [{ deadlocks: dl0 }] = await db.sql<{ deadlocks: number }[]>`
      SELECT deadlocks::int FROM pg_stat_database WHERE datname = current_database()`;
    const t0 = performance.now();
    const per = Math.ceil(opts.jobs / 4);
    const producers = Array.from({ length: 4 }, (_, p) =>
      (async () => {
        const n = Math.min(per, opts.jobs - p * per);
        await enqueueWork(db.sql, { count: n, ms: 1, batch: 500 });
      })());
    // Probe: claim one job every 50 ms while the burst runs, time the statement, complete it.
    const probe: { at: number; ms: number }[] = [];
    let probing = true;
    const probeLoop = (async () => {
      while (probing) {
        const c0 = performance.now();
        const [job] = await jobs.claim(db.sql, { worker: "probe", limit: 1, leaseSeconds: 30 });
        probe.push({ at: c0 - t0, ms: performance.now() - c0 });
        if (job) {
          await jobs.complete(db.sql, {
            id: job.id,
            attempt: job.attempts,
            worker: "probe",
            result: null,
          });
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await Promise.all(producers);
    const enqueueS = (performance.now() - t0) / 1000;
    await waitFor(async () => (await statusCounts(db.sql)).completed === opts.jobs, {
      timeoutMs: 900_000,
      what: `all ${opts.jobs} jobs completed`,
    });
    probing = false;
    await probeLoop;
    const seconds = (performance.now() - t0) / 1000;
    const [{ deadlocks: dl1 }] = await db.sql<{ deadlocks: number }[]>`
      SELECT deadlocks::int FROM pg_stat_database WHERE datname = current_database()`;
    const a = await audit(db.sql);
    const [{ multi }] = await db.sql<{ multi: number }[]>`
      SELECT count(*)::int AS multi FROM (SELECT job_id FROM job_event WHERE kind = 'claimed'
        GROUP BY job_id HAVING count(*) > 1) x`;
    const third = probe.length / 3;
    const early = probe.slice(0, Math.floor(third)).map((p) => p.ms);
    const late = probe.slice(Math.floor(2 * third)).map((p) => p.ms);
    const all = probe.map((p) => p.ms);
    await report(name, {
      command: opts.command,
      jobs: opts.jobs,
      faults: `burst of ${opts.jobs} enqueues, ${opts.workers ?? 3} worker processes`,
      lost: a.notCompleted,
      duplicated: multi,
      deadlocks: dl1 - dl0,
      enqueue_s: Number(enqueueS.toFixed(1)),
      run_s: Number(seconds.toFixed(1)),
      claim_probes: probe.length,
      claim_ms_p50: Number(percentile(all, 50).toFixed(2)),
      claim_ms_p99: Number(percentile(all, 99).toFixed(2)),
      claim_ms_p50_first_third: Number(percentile(early, 50).toFixed(2)),
      claim_ms_p50_last_third: Number(percentile(late, 50).toFixed(2)),
    });
    assertEquals(a.notCompleted, 0, "every job completed");
    assertEquals(multi, 0, "no job claimed twice");
    assertEquals(a.duplicateCompletions, 0, "no job completed twice");
    assertEquals(dl1 - dl0, 0, "no deadlocks");
  } finally {
    await stopAll(procs);
    await db.drop();
  }
}

/** How {@link outageScenario} takes the database away. */
export type Outage = "terminate" | "proxy" | "restart";

/** Answers of the web process while the database is away: status and time of each. */
async function probeWeb(
  url: string,
  paths: string[],
): Promise<{ path: string; status: number; ms: number }[]> {
  return await Promise.all(paths.map(async (path) => {
    const t = performance.now();
    try {
      const res = await fetch(url + path, { signal: AbortSignal.timeout(20_000) });
      await res.body?.cancel();
      return { path, status: res.status, ms: Math.round(performance.now() - t) };
    } catch (err) {
      return {
        path,
        status: err instanceof DOMException ? -1 : 0,
        ms: Math.round(performance.now() - t),
      };
    }
  }));
}

/** Pages and API routes that need the database. */
const DB_PATHS = ["/", "/jobs", "/workers", "/api/stats", "/api/jobs?limit=5", "/readyz"];

/**
 * The database goes away `times` times during a run of `jobs` jobs drained
 * by 2 worker processes while a web process serves: `terminate` kills every
 * backend of the test database (`pg_terminate_backend`), `proxy` drops every
 * connection at a TCP proxy and refuses new ones for `downMs` (the database
 * seems down to the processes), `restart` restarts the server itself. Workers
 * and web must reconnect; every job completes once; no job stays processing
 * past its lease; the web answers 503 (not a hang, not a 500) while the
 * database is unreachable.
 */
export async function outageScenario(
  name: string,
  opts: {
    outage: Outage;
    jobs: number;
    times: number;
    downMs?: number;
    /** For `restart`: stop and start the server (probing the web in between). */
    server?: { stop: () => Promise<void>; start: () => Promise<void> };
    command: string;
  },
): Promise<void> {
  const db = await createTestDb();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-fault-outage-" });
  const proxy = opts.outage === "proxy" ? startPgProxy(hostPort(db.url)) : null;
  const url = proxy ? proxy.urlFor(db.url) : db.url;
  const procs: Proc[] = [];
  try {
    const workers = [await spawnWorker(url, dataDir), await spawnWorker(url, dataDir)];
    procs.push(...workers);
    const web = await spawnWeb(url);
    procs.push(web);
    const t0 = performance.now();
    await enqueueWork(db.sql, { count: opts.jobs, ms: 20 });
    const recoverMs: number[] = [];
    const duringDown: { path: string; status: number; ms: number }[] = [];
    const after: { path: string; status: number; ms: number }[] = [];
    let terminated = 0;
    for (let k = 0; k < opts.times; k++) {
      const target = Math.floor((opts.jobs * (k + 1)) / (opts.times + 2));
      await waitFor(async () => (await statusCounts(db.sql)).completed >= target, {
        timeoutMs: 300_000,
        what: `${target} completions before outage ${k + 1}`,
      });
      const before = (await statusCounts(db.sql)).completed;
      const downAt = performance.now();
      if (opts.outage === "terminate") {
        const [{ n }] = await db.sql<{ n: number }[]>`
          SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND application_name <> 'jobq-test'`;
        terminated += n;
        after.push(...await probeWeb(web.url, DB_PATHS));
      } else if (opts.outage === "proxy") {
        proxy!.down();
        duringDown.push(...await probeWeb(web.url, DB_PATHS));
        const left = (opts.downMs ?? 4000) - (performance.now() - downAt);
        if (left > 0) await new Promise((r) => setTimeout(r, left));
        proxy!.up();
      } else {
        await opts.server!.stop();
        duringDown.push(...await probeWeb(web.url, DB_PATHS));
        await opts.server!.start();
      }
      // Recovered: the web is ready again and the workers complete jobs again.
      await waitFor(async () => {
        const res = await fetch(web.url + "/readyz", { signal: AbortSignal.timeout(5000) });
        await res.body?.cancel();
        return res.status === 200;
      }, { timeoutMs: 120_000, what: "/readyz 200 after the outage" });
      await waitFor(async () => {
        const c = await statusCounts(db.sql);
        return c.completed > before + 20 || c.completed === opts.jobs;
      }, { timeoutMs: 120_000, what: "completions after the outage" });
      recoverMs.push(performance.now() - downAt);
    }
    await waitFor(async () => (await statusCounts(db.sql)).completed === opts.jobs, {
      timeoutMs: 600_000,
      what: `all ${opts.jobs} jobs completed`,
    });
    const seconds = (performance.now() - t0) / 1000;
    const a = await audit(db.sql);
    const dead = [...workers, web].filter((p) => p.exited()).map((p) =>
      `pid ${p.pid} exited:\n` + p.lines.slice(-10).map((l) => JSON.stringify(l)).join("\n")
    );
    const statuses = (xs: { status: number }[]) => [...new Set(xs.map((x) => x.status))].sort();
    await report(name, {
      command: opts.command,
      jobs: opts.jobs,
      faults: `${opts.times} × ${opts.outage}` +
        (opts.outage === "terminate" ? ` (${terminated} backends)` : "") +
        (opts.outage === "proxy" ? ` (${opts.downMs ?? 4000} ms down)` : ""),
      lost: a.notCompleted,
      duplicated: a.duplicateCompletions,
      rerun: a.rerun,
      stale_leases: a.staleLeases,
      web_while_down: statuses(duringDown),
      web_while_down_ms_max: duringDown.length ? Math.max(...duringDown.map((x) => x.ms)) : null,
      web_after_terminate: statuses(after),
      recover_ms_max: Math.round(Math.max(...recoverMs)),
      run_s: Number(seconds.toFixed(1)),
    });
    assertEquals(dead, [], "every process survived");
    assertEquals(a.notCompleted, 0, "every job completed");
    assertEquals(a.duplicateCompletions, 0, "no job recorded completed twice");
    assertEquals(a.unexplainedReruns, 0, "every re-run follows a rescue or give-back");
    assertEquals(a.staleLeases, 0, "no job processing past its lease");
    assertEquals(a.failedEvents, 0, "no attempt counted as failed");
    for (const x of duringDown) {
      assertEquals(x.status, 503, `${x.path} while the database is down (${x.ms} ms)`);
    }
    for (const x of after) assert(x.status !== 500 && x.status > 0, `${x.path}: ${x.status}`);
  } finally {
    await stopAll(procs);
    proxy?.close();
    await db.drop();
  }
}

/**
 * SIGTERM during a run: a process with a long grace lets its in-flight jobs
 * finish; one with no grace gives them back. Either way no attempt counts as
 * failed, nothing stays processing, and a fresh process finishes the rest.
 */
export async function sigtermScenario(name: string, opts: { command: string }): Promise<void> {
  const db = await createTestDb();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-fault-term-" });
  const procs: Proc[] = [];
  try {
    const figures: Record<string, unknown> = { command: opts.command };
    let total = 0;
    for (const grace of [30, 0]) {
      const w = await spawnWorker(db.url, dataDir, {
        env: { SHUTDOWN_GRACE_SECONDS: String(grace) },
      });
      procs.push(w);
      const ms = grace ? 700 : 20_000;
      await enqueueWork(db.sql, { count: 40, ms });
      total += 40;
      const inFlight = await waitFor(async () => {
        const rows = await db.sql<{ id: string }[]>`
          SELECT id FROM job WHERE status = 'processing' AND locked_by LIKE ${w.id + "/%"}
            AND (payload->>'ms')::int = ${ms}
            AND started_at < now() - interval '100 ms'`;
        return rows.length >= 4 ? rows.map((r) => r.id) : null;
      }, { timeoutMs: 60_000, what: "4 jobs in flight" });
      const t = performance.now();
      w.kill("SIGTERM");
      const st = await w.status;
      const stopMs = Math.round(performance.now() - t);
      const rows = await db.sql<{ status: string; attempts: number }[]>`
        SELECT status, attempts FROM job WHERE id = ANY(${inFlight}::uuid[])`;
      const outcome = rows.map((r) => `${r.status}/${r.attempts}`);
      figures[`grace_${grace}s`] = {
        exit: st.code,
        stop_ms: stopMs,
        in_flight: inFlight.length,
        outcome: Object.fromEntries(
          [...new Set(outcome)].map((o) => [o, outcome.filter((x) => x === o).length]),
        ),
      };
      assertEquals(st.code, 0, "graceful exit");
      // Held jobs are either running (they finish within the grace) or
      // claimed in the runner's batch and not started (given back at once).
      for (const r of rows) {
        if (r.status === "pending") assertEquals(r.attempts, 0, "a give-back does not count");
        else assertEquals(r.status, "completed", "in-flight jobs finish or go back to pending");
      }
      if (grace) assert(outcome.includes("completed/1"), "running jobs finished in the grace");
      else assert(!outcome.includes("completed/1"), "with no grace, running jobs are given back");
      const c = await statusCounts(db.sql);
      assertEquals(c.processing, 0, "nothing left processing");
      assertEquals(c.failed, 0);
    }
    // A fresh process finishes what was given back (quickly: shorten the slow jobs).
    await db
      .sql`UPDATE job SET payload = jsonb_set(payload, '{ms}', '20') WHERE status = 'pending'`;
    const w = await spawnWorker(db.url, dataDir);
    procs.push(w);
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await waitFor(async () => (await statusCounts(db.sql)).completed === total, {
      timeoutMs: 120_000,
      what: "every job completed",
    });
    const a = await audit(db.sql);
    await report(name, {
      ...figures,
      jobs: total,
      faults: "2 × SIGTERM",
      lost: a.notCompleted,
      duplicated: a.duplicateCompletions,
      released: a.releasedEvents,
      failed_events: a.failedEvents,
    });
    assertEquals(a.notCompleted, 0);
    assertEquals(a.duplicateCompletions, 0);
    assertEquals(a.failedEvents, 0, "no failed attempt counted");
    assertEquals(a.unexplainedReruns, 0);
  } finally {
    await stopAll(procs);
    await db.drop();
  }
}
