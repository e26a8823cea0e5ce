/**
 * Steady load for `SOAK_SECONDS` (default 180): a producer enqueues at a
 * fixed rate, 3 worker processes drain, a web process serves pages and the
 * API all along. Sampled every 10 s: dead tuples and sizes of the hot tables
 * and of the claim index (bloat must stay bounded: autovacuum keeps up), and
 * the RSS of every process (memory must stay flat). Figures are reported;
 * the assertions are on bounds of size and memory, never on time.
 *
 * Bloat is bounded by autovacuum (with the per-table settings of the
 * migrations). When the test server runs with `autovacuum = off` (this CI's
 * conf.d/90-ci.conf turns it off), the soak runs on a private embedded
 * Postgres with the default configuration instead, and says so.
 */

/** A migrated database on a server whose autovacuum is on. */
async function soakDatabase(): Promise<
  { url: string; sql: Sql; server: string; drop(): Promise<void> }
> {
  const admin = openPool(await adminUrl(), { max: 1 });
  const [{ autovacuum }] = await admin<{ autovacuum: string }[]>`SHOW autovacuum`;
  await admin.end();
  if (autovacuum === "on") {
    const db = await createTestDb();
    return { ...db, server: "test server (autovacuum on)" };
  }
  const dataRoot = join(PROJECT_ROOT, ".data", "soak-autovacuum");
  const info = await ensureEmbedded({ dataRoot });
  const name = `jobq_soak_${crypto.randomUUID().slice(0, 8)}`;
  const a = openPool(info.url, { max: 1 });
  await a`CREATE DATABASE ${a(name)}`;
  await a.end();
  const url = withDatabase(info.url, name);
  const sql = openPool(url, { max: 10, name: "jobq-test" });
  await migrate(sql, { quiet: true });
  return {
    url,
    sql,
    server: "private embedded Postgres (the test server has autovacuum off)",
    async drop() {
      await sql.end({ timeout: 5 });
      await stopEmbedded({ dataRoot });
    },
  };
}
import { join } from "node:path";
import { openPool, type Sql, withDatabase } from "../../lib/db.ts";
import { ensureEmbedded, PROJECT_ROOT, stopEmbedded } from "../../lib/embedded_pg.ts";
import { migrate } from "../../lib/migrate.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { adminUrl, createTestDb } from "../_helpers/db.ts";
import {
  audit,
  enqueueWork,
  percentile,
  type Proc,
  report,
  spawnWeb,
  spawnWorker,
  statusCounts,
  stopAll,
  waitFor,
} from "../_helpers/faults.ts";

interface Sample {
  t: number;
  rss: number[];
  dead: Record<string, number>;
  live: Record<string, number>;
  claimIdx: number;
  pendingIdx: number;
  jobBytes: number;
  counts: Record<string, number>;
}

Deno.test("soak: steady load for minutes keeps table bloat bounded and every process's memory flat", async () => {
  const seconds = Number(Deno.env.get("SOAK_SECONDS") ?? "180");
  const db = await soakDatabase();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-soak-" });
  const procs: Proc[] = [];
  try {
    for (let i = 0; i < 3; i++) procs.push(await spawnWorker(db.url, dataDir));
    const web = await spawnWeb(db.url);
    procs.push(web);
    const t0 = performance.now();
    let enqueued = 0;
    let running = true;
    // Producer: 40 jobs every 500 ms (80 jobs/s).
    const producer = (async () => {
      while (running) {
        await enqueueWork(db.sql, { count: 40, ms: 5, batch: 40 });
        enqueued += 40;
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    // Web traffic: a page and an API call every 250 ms.
    let webRequests = 0;
    const webErrors: string[] = [];
    const browser = (async () => {
      const paths = [
        "/",
        "/jobs",
        "/api/stats",
        "/api/jobs?limit=20",
        "/workers",
        "/jobs?status=completed",
      ];
      while (running) {
        const p = paths[webRequests % paths.length];
        const res = await fetch(web.url + p);
        await res.body?.cancel();
        webRequests++;
        if (res.status >= 500) webErrors.push(`${p} ${res.status}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const samples: Sample[] = [];
    const sample = async () => {
      const rows = await db.sql<{ relname: string; dead: number; live: number }[]>`
        SELECT relname, n_dead_tup::int AS dead, n_live_tup::int AS live FROM pg_stat_user_tables`;
      const [sizes] = await db.sql<{ claim: number; pending: number; job: number }[]>`
        SELECT pg_relation_size('job_claim_idx')::int AS claim,
               pg_relation_size('job_pending_created_idx')::int AS pending,
               pg_relation_size('job')::int AS job`;
      samples.push({
        t: Math.round((performance.now() - t0) / 1000),
        rss: await Promise.all(procs.map((p) => p.rss())),
        dead: Object.fromEntries(rows.map((r) => [r.relname, r.dead])),
        live: Object.fromEntries(rows.map((r) => [r.relname, r.live])),
        claimIdx: sizes.claim,
        pendingIdx: sizes.pending,
        jobBytes: sizes.job,
        counts: await statusCounts(db.sql),
      });
    };
    while (performance.now() - t0 < seconds * 1000) {
      await sample();
      await new Promise((r) => setTimeout(r, 10_000));
    }
    running = false;
    await Promise.all([producer, browser]);
    await waitFor(async () => (await statusCounts(db.sql)).completed === enqueued, {
      timeoutMs: 300_000,
      what: `all ${enqueued} jobs completed`,
    });
    await sample();
    const a = await audit(db.sql);
    const [{ vacuums }] = await db.sql<{ vacuums: number }[]>`
      SELECT coalesce(sum(autovacuum_count), 0)::int AS vacuums FROM pg_stat_user_tables
      WHERE relname = 'job'`;
    // Bloat: dead tuples of job must not trend up (autovacuum keeps up): the
    // peak of the second half stays within the peak of the first half.
    const half = Math.floor(samples.length / 2);
    const deadOf = (xs: Sample[]) => Math.max(0, ...xs.map((s) => s.dead["job"] ?? 0));
    const deadFirst = deadOf(samples.slice(0, half));
    const deadSecond = deadOf(samples.slice(half));
    const claimIdxMax = Math.max(...samples.map((s) => s.claimIdx));
    const third = Math.max(1, Math.floor(samples.length / 3));
    const mib = (b: number) => Math.round(b / 1048576);
    const rssMid = procs.map((_, i) =>
      percentile(samples.slice(third, 2 * third).map((s) => s.rss[i]), 50)
    );
    const rssEnd = procs.map((_, i) => percentile(samples.slice(-third).map((s) => s.rss[i]), 50));
    await report("steady soak", {
      command: `SOAK_SECONDS=${seconds} deno test -A tests/soak/steady_soak_test.ts`,
      server: db.server,
      jobs: enqueued,
      faults: `${seconds} s steady load (80 jobs/s offered), ${webRequests} web requests`,
      lost: a.notCompleted,
      duplicated: a.duplicateCompletions,
      web_5xx: webErrors.length,
      job_dead_tuples_peak_first_half: deadFirst,
      job_dead_tuples_peak_second_half: deadSecond,
      job_autovacuums: vacuums,
      job_heap_mib: mib(samples[samples.length - 1].jobBytes),
      claim_idx_kib_max: Math.round(claimIdxMax / 1024),
      claim_idx_kib_end: Math.round(samples[samples.length - 1].claimIdx / 1024),
      status_count_dead_max: Math.max(...samples.map((s) => s.dead["job_status_count"] ?? 0)),
      rss_mib_mid: rssMid.map(mib),
      rss_mib_end: rssEnd.map(mib),
    });
    assertEquals(a.notCompleted, 0);
    assertEquals(a.duplicateCompletions, 0);
    assertEquals(webErrors, []);
    assert(vacuums >= 1, "autovacuum ran on job");
    assert(
      deadSecond <= deadFirst * 1.5 + 5000,
      `dead tuples of job do not grow: peak ${deadFirst} then ${deadSecond}`,
    );
    for (let i = 0; i < procs.length; i++) {
      assert(
        rssEnd[i] <= rssMid[i] * 1.5 + 32 * 1048576,
        `process ${i} memory flat: ${mib(rssMid[i])} MiB → ${mib(rssEnd[i])} MiB`,
      );
    }
  } finally {
    await stopAll(procs);
    await db.drop();
  }
});
