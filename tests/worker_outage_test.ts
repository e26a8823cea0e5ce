/**
 * Worker: database outages. Every backend killed with pg_terminate_backend
 * mid-run (works on any server), and a real restart (pg_ctl stop + start) of
 * a private embedded PostgreSQL — never the shared server other tests use.
 * In both the worker reconnects, no job ends in a wrong state, and each job
 * is completed exactly once.
 */
import { ensureEmbedded, stopEmbedded } from "../lib/embedded_pg.ts";
import { openPool, type Sql, withDatabase } from "../lib/db.ts";
import { migrate } from "../lib/migrate.ts";
import * as jobs from "../lib/queue/jobs.ts";
import type { JobEvent } from "../lib/queue/types.ts";
import type { Supervisor } from "../worker/supervisor.ts";
import { assertEquals } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";
import { collect, TEST_HANDLERS, testSupervisor } from "./_helpers/worker_sup.ts";

/**
 * Resolves when every job of `ids` has completed. Subscribe before enqueueing;
 * `ids` may be filled in afterwards (it is read at every event).
 */
function allCompleted(sup: Supervisor, ids: Set<string>, timeoutMs = 90_000) {
  const done = new Set<string>();
  return collect(sup, ["completed"], (es) => {
    const e = es[es.length - 1];
    if (e.kind === "completed") done.add(e.job.id);
    return ids.size > 0 && [...ids].every((id) => done.has(id));
  }, timeoutMs);
}

/** Every job completed once; every extra claim follows a rescue or a give-back. */
async function assertExactlyOnce(sql: Sql, n: number): Promise<void> {
  const [{ completed, total }] = await sql<{ completed: number; total: number }[]>`
    SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed, count(*)::int AS total FROM job`;
  assertEquals([completed, total], [n, n]);
  const events = await sql<JobEvent[]>`SELECT * FROM job_event ORDER BY id`;
  const byJob = new Map<string, JobEvent[]>();
  for (const e of events) byJob.set(e.job_id, [...(byJob.get(e.job_id) ?? []), e]);
  for (const [id, evs] of byJob) {
    const count = (k: string) => evs.filter((e) => e.kind === k).length;
    assertEquals(count("completed"), 1, `job ${id} completed once`);
    assertEquals(
      count("claimed"),
      1 + count("rescued") + count("released") + count("failed"),
      `every re-run of ${id} follows a rescue, a give-back or a failure`,
    );
  }
}

async function enqueueSlow(
  sql: Sql,
  n: number,
  ms: number,
  type = "slow_email",
): Promise<Set<string>> {
  const rows = await jobs.enqueueBatch(sql, {
    jobs: Array.from({ length: n }, () => ({ type, payload: { ms } })),
  });
  await sql`SELECT pg_notify('jobq_new', '')`;
  return new Set(rows.map((r) => r.id));
}

Deno.test("worker outage: every backend terminated twice mid-run; it reconnects, re-LISTENs and finishes", async () => {
  const db = await createTestDb();
  // The fallback poll is far away: only a re-established LISTEN can pick up the last batch quickly.
  const { sup, dataDir } = await testSupervisor(db.url, {
    handlersModule: TEST_HANDLERS,
    concurrency: 4,
    pollMs: 120_000,
  });
  const terminate = () =>
    db.sql`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid()`;
  try {
    const completedAfter = (n: number) => {
      let seen = 0;
      return collect(sup, ["completed"], () => ++seen >= n, 60_000);
    };
    const firstIds = new Set<string>();
    const allFirst = allCompleted(sup, firstIds);
    const forty = completedAfter(40);
    const eighty = completedAfter(80);
    for (const id of await enqueueSlow(db.sql, 200, 20)) firstIds.add(id);
    await forty;
    const [{ n: killed1 }] = await terminate();
    await eighty;
    const [{ n: killed2 }] = await terminate();
    await allFirst;
    console.log(`terminated ${killed1} and ${killed2} backends`);

    // The LISTEN connection was killed too: a new batch must still wake the pool at once.
    const listening = async () => {
      const rows = await db.sql`SELECT 1 FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'jobq-worker-listen'
          AND query ILIKE 'listen%'`;
      return rows.length > 0;
    };
    const relistened = Promise.withResolvers<void>();
    const check = async () => (await listening()) ? relistened.resolve() : setTimeout(check, 50);
    await check();
    await relistened.promise;
    const secondIds = new Set<string>();
    const allSecond = allCompleted(sup, secondIds, 20_000);
    for (const id of await enqueueSlow(db.sql, 20, 5)) secondIds.add(id);
    await allSecond;
    await assertExactlyOnce(db.sql, 220);
  } finally {
    await sup.stop();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("worker outage: a private PostgreSQL restarted (pg_ctl) mid-run; the worker waits it out and finishes", async () => {
  const root = await Deno.makeTempDir({ prefix: "jobq-pg-restart-" });
  await Deno.chmod(root, 0o755); // the server runs as the postgres user
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const server = await ensureEmbedded({ dataRoot: root, port });
  const url = withDatabase(server.url, "postgres");
  const sql = openPool(url, { max: 2, name: "jobq-test" });
  await migrate(sql, { quiet: true });
  const { sup, dataDir } = await testSupervisor(url, {
    handlersModule: TEST_HANDLERS,
    concurrency: 4,
  });
  try {
    const ids = new Set<string>();
    const all = allCompleted(sup, ids);
    let seen = 0;
    const fifty = collect(sup, ["completed"], () => ++seen >= 50, 60_000);
    const replaced: string[] = [];
    const off = sup.on((e) => {
      if (e.kind === "replaced") replaced.push(e.worker);
    });
    // "brief" jobs have a 1 s timeout: results that wait out the outage must
    // not be mistaken for hung handlers (no runner may be replaced).
    for (const id of await enqueueSlow(sql, 200, 20, "brief")) ids.add(id);
    await fifty;
    const down = sup.waitFor("db_down", undefined, 30_000);
    const up = sup.waitFor("db_up", undefined, 60_000);
    const t0 = performance.now();
    await stopEmbedded({ dataRoot: root });
    await down;
    // The outage scenario: the server stays down past the jobs' timeout + abort grace + margin.
    await new Promise((r) => setTimeout(r, 4000));
    await ensureEmbedded({ dataRoot: root, port });
    const back = await up;
    console.log(
      `restart: server down for ${
        Math.round(performance.now() - t0)
      } ms; worker saw an outage of ${back.downMs} ms`,
    );
    await all;
    off();
    assertEquals(replaced, [], "no runner was replaced during the outage");
    await assertExactlyOnce(sql, 200);
  } finally {
    await sup.stop();
    await sql.end({ timeout: 2 });
    await stopEmbedded({ dataRoot: root });
    await Deno.remove(root, { recursive: true });
    await Deno.remove(dataDir, { recursive: true });
  }
});
