/**
 * PostgreSQL itself crashes (immediate-mode stop: SIGQUIT to the postmaster,
 * no shutdown checkpoint, WAL not yet written is lost) right after a worker
 * was told it claimed a job. The job's timeline must show every run: as many
 * `claimed` events as the worker logged claims (`jobs.claimed`) for it.
 *
 * It runs on a private embedded server (the machine's server is shared), with
 * `wal_writer_delay` at its 10 s maximum so that a commit that did not wait
 * for its WAL flush stays unwritten for the moment of the crash.
 */
import { join } from "node:path";
import { ensureEmbedded, stopEmbedded } from "../../lib/embedded_pg.ts";
import { openPool } from "../../lib/db.ts";
import { migrate } from "../../lib/migrate.ts";
import * as jobs from "../../lib/queue/jobs.ts";
import { assertEquals } from "../_helpers/assert.ts";
import { report, spawnWorker, stopAll, waitFor } from "../_helpers/faults.ts";

/** Immediate-mode stop of the server under `dataRoot` (what `pg_ctl stop -m immediate` sends). */
async function crash(dataRoot: string): Promise<void> {
  const pidFile = join(dataRoot, "postgres", "postmaster.pid");
  const pid = Number((await Deno.readTextFile(pidFile)).split("\n")[0]);
  Deno.kill(pid, "SIGQUIT");
  await waitFor(async () => {
    try {
      await Deno.stat(pidFile);
      return false;
    } catch {
      return true;
    }
  }, { timeoutMs: 30_000, what: "the postmaster to exit", intervalMs: 20 });
}

Deno.test({
  name:
    "crash: a claim acknowledged to a worker survives an immediate-mode crash of PostgreSQL; the timeline shows every run",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dataRoot = await Deno.makeTempDir({ prefix: "jobq-crash-" });
  if (Deno.uid() === 0) await new Deno.Command("chmod", { args: ["755", dataRoot] }).output();
  const pg = await ensureEmbedded({ dataRoot });
  const sql = openPool(pg.url, { max: 2, name: "jobq-test" });
  const procs = [];
  try {
    await migrate(sql);
    await sql`ALTER SYSTEM SET wal_writer_delay = '10s'`;
    await sql`SELECT pg_reload_conf()`;
    const worker = await spawnWorker(pg.url, dataRoot, {
      env: { WORKER_CONCURRENCY: "1", JOB_LEASE_SECONDS: "30" },
    });
    procs.push(worker);
    const [job] = await jobs.enqueueBatch(sql, {
      jobs: [{ type: "work", payload: { ms: 1500 }, max_attempts: 5 }],
      notify: "jobq_new",
    });
    const claimedBy = (l: { msg: string; job_ids?: unknown }) =>
      l.msg === "jobs.claimed" && Array.isArray(l.job_ids) && l.job_ids.includes(job.id);
    await worker.waitForLog(claimedBy, 60_000, "the worker's claim");
    await crash(dataRoot);
    await ensureEmbedded({ dataRoot });
    await waitFor(async () => (await jobs.get(sql, { id: job.id }))?.status === "completed", {
      timeoutMs: 120_000,
      what: "the job completed after the crash",
    }).catch(async (err) => {
      // What the worker said and where the job stands, for the report of a
      // failed run.
      const row = await jobs.get(sql, { id: job.id }).catch(() => null);
      throw new Error(
        `${err.message}; worker ${worker.exited() ? "exited" : "running"}, job ${
          JSON.stringify(row && { status: row.status, attempts: row.attempts, error: row.error })
        }; worker's last lines:\n${
          worker.lines.slice(-25).map((l) => JSON.stringify(l)).join("\n")
        }`,
      );
    });
    const runs = worker.lines.filter(claimedBy).length;
    const timeline = await sql<{ kind: string; attempt: number }[]>`
      SELECT kind, attempt FROM job_event WHERE job_id = ${job.id} ORDER BY at, id`;
    const claims = timeline.filter((e) => e.kind === "claimed").length;
    await report("crash after a claim", {
      command: "deno test -A tests/faults/crash_claim_test.ts",
      runs,
      timeline: timeline.map((e) => `${e.kind}/${e.attempt}`),
      lost_completions: worker.lines.filter((l) => l.msg === "job.lost").length,
    });
    assertEquals(claims, runs, "one claimed event per run the worker started");
    assertEquals(timeline.filter((e) => e.kind === "completed").length, 1);
  } finally {
    await stopAll(procs);
    await sql.end({ timeout: 1 }).catch(() => {});
    await stopEmbedded({ dataRoot }).catch(() => {});
    await Deno.remove(dataRoot, { recursive: true }).catch(() => {});
  }
});
