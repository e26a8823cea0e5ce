/**
 * Scale phase: claim latency, the list, its filters and search, the counts
 * and trend, and every dashboard page (routing, queries and server render, in
 * process) with 10 thousand to 10 million jobs in the table.
 *
 * Each size has a database of its own, filled by the project's seed
 * (`lib/queue/seed.ts`: jobs of every type, priority and status over the last
 * 7 days with their timelines, counts, trend and search rows), then
 * `VACUUM ANALYZE`d, as autovacuum would have done by then. With `reuse`, the
 * databases keep fixed names (`jobq_bench_scale_<size>`), a database already
 * holding its size is used as it is, and none is dropped (seeding 10 million
 * jobs takes minutes). Calls alternate between the sizes (10k, 1M, 10M, 10k,
 * …), so that the load of a shared machine weighs on every size alike and the
 * ratios compare like with like.
 */
import type { Sql } from "../lib/db.ts";
import { type App, createApp } from "../lib/app.ts";
import { loadConfig } from "../lib/config.ts";
import * as jobs from "../lib/queue/jobs.ts";
import * as stats from "../lib/queue/stats.ts";
import * as workers from "../lib/queue/workers.ts";
import { seed } from "../lib/queue/seed.ts";
import { median, now, percentile, round, say, settle } from "./util.ts";
import { BENCH_TYPE, benchPayload } from "./payload.ts";

/** One measured query at one table size. */
export interface ScaleResult {
  query: string;
  rows: number;
  p50_ms: number;
  p95_ms: number;
  iterations: number;
}

/**
 * The queries of the dashboard page `/` with its default range (24 h), in
 * parallel as `routes/index.tsx` runs them: status cards, the last hour per
 * minute (the cards' "in 1 h" figures), the trend chart, recent jobs, the
 * workers and their running jobs.
 */
function dashboardQueries(sql: Sql, hours = 24): Promise<unknown> {
  return Promise.all([
    stats.counts(sql),
    stats.trend(sql, { hours: 1, bucket: "minute" }),
    stats.trend(sql, { hours, bucket: "hour" }),
    jobs.list(sql, { limit: 10, sort: "created_at", order: "desc" }),
    workers.list(sql),
    jobs.list(sql, { status: ["processing"], limit: 100 }),
  ]);
}

/** Values each size's queries need: ids that exist there. */
interface Probe {
  /** A finished job with a full timeline (for `/jobs/:id`). */
  jobId: string;
  /** The first 8 hex digits of another job's id (for an id-prefix search). */
  idPrefix: string;
  /** The number of the list's last page of 20 (for `/jobs?page=:last`). */
  lastPage: number;
}

/** The measured operations; each takes the pool and the size's probe and runs one call. */
const QUERIES: Record<string, (sql: Sql, p: Probe) => Promise<unknown>> = {
  // Dashboard status cards and /api/stats.
  stats_counts: (sql) => stats.counts(sql),
  // /jobs first page, newest first, no filter (items + total).
  list_first: (sql) => jobs.list(sql, { limit: 20 }),
  // /jobs?page=101: 2,000 rows in (OFFSET reads them all at every size).
  list_deep_offset: (sql) => jobs.list(sql, { limit: 20, offset: 2_000 }),
  // The filters people click, one at a time.
  list_status_pending: (sql) => jobs.list(sql, { status: ["pending"], limit: 20 }),
  list_status_failed: (sql) => jobs.list(sql, { status: ["failed"], limit: 20 }),
  list_type_report: (sql) => jobs.list(sql, { type: ["report"], limit: 20 }),
  list_queue_default: (sql) => jobs.list(sql, { queue: ["default"], limit: 20 }),
  list_priority_5: (sql) => jobs.list(sql, { priority: [5], limit: 20 }),
  list_failed_email: (sql) => jobs.list(sql, { status: ["failed"], type: ["email"], limit: 20 }),
  // The column headers people click: a sort by a column of few values.
  list_sort_status: (sql) => jobs.list(sql, { sort: "status", order: "asc", limit: 20 }),
  list_sort_type: (sql) => jobs.list(sql, { sort: "type", order: "desc", limit: 20 }),
  list_sort_priority: (sql) => jobs.list(sql, { sort: "priority", order: "desc", limit: 20 }),
  list_sort_attempts: (sql) => jobs.list(sql, { sort: "attempts", order: "desc", limit: 20 }),
  list_sort_attempts_failed: (sql) =>
    jobs.list(sql, { sort: "attempts", order: "asc", status: ["failed", "pending"], limit: 20 }),
  // /jobs?q=…: an address no job has, one recipient's address (held by one
  // job in 20,000 or so), the start of an id.
  search_miss: (sql) => jobs.list(sql, { q: "nobody@example.com", limit: 20 }),
  search_value: (sql) => jobs.list(sql, { q: "user4242@example.com", limit: 20 }),
  search_id_prefix: (sql, p) => jobs.list(sql, { q: p.idPrefix, limit: 20 }),
  // The last page of the whole list, and of the list sorted by attempts.
  list_last_page: (sql, p) => jobs.list(sql, { limit: 20, offset: (p.lastPage - 1) * 20 }),
  list_sort_attempts_last: (sql, p) =>
    jobs.list(sql, { sort: "attempts", order: "desc", limit: 20, offset: (p.lastPage - 1) * 20 }),
  // Trend chart, last 24 hours and 7 days by hour, last hour by minute.
  trend_24h: (sql) => stats.trend(sql, { hours: 24, bucket: "hour" }),
  trend_7d: (sql) => stats.trend(sql, { hours: 168, bucket: "hour" }),
  trend_1h_minute: (sql) => stats.trend(sql, { hours: 1, bucket: "minute" }),
  // `/` and `/workers`: running jobs.
  processing_100: (sql) => jobs.list(sql, { status: ["processing"], limit: 100 }),
  workers_list: (sql) => workers.list(sql),
  // `/metrics`: jobs per status and type.
  metrics_counts: (sql) => stats.countsByStatusAndType(sql),
  // Everything `/` asks the database, together.
  dashboard_queries: (sql) => dashboardQueries(sql),
  dashboard_7d_queries: (sql) => dashboardQueries(sql, 168),
};

/** A page served in process by the real app (routing, queries, render). */
async function getPage(app: App, path: string): Promise<void> {
  const res = await app.fetch(
    new Request(`http://127.0.0.1${path}`, {
      headers: { accept: "text/html" },
    }),
  );
  await res.text();
  if (res.status !== 200) throw new Error(`scale: GET ${path} answered ${res.status}`);
}

/** The pages measured whole, by result name (`:id` is the size's probe job). */
const PAGES: Record<string, string> = {
  page_dashboard: "/",
  page_dashboard_7d: "/?range=7d",
  page_jobs: "/jobs",
  page_jobs_deep: "/jobs?page=101",
  page_jobs_filtered: "/jobs?status=failed&type=email",
  page_jobs_priority: "/jobs?priority=5",
  page_jobs_search: "/jobs?q=user4242%40example.com",
  page_jobs_sort_tries: "/jobs?sort=attempts&order=desc",
  page_jobs_sort_status: "/jobs?sort=status&order=asc",
  page_job: "/jobs/:id",
  page_jobs_last: "/jobs?page=:last",
  page_workers: "/workers",
  page_queues: "/queues",
  page_schedules: "/schedules",
  page_health: "/health",
  page_audit: "/audit",
  page_alerts: "/alerts",
};

/** One table size under measurement: its database, pool and in-process app. */
interface Sized {
  size: number;
  sql: Sql;
  app: App;
  probe: Probe;
}

/**
 * Times `fn` on every size, alternating between them call by call, so that
 * the machine's load at any moment weighs on every size alike. The first
 * call on each size only warms (plan cache, buffers). Returns the times of
 * each size, in `sizes` order.
 */
async function interleaved(
  sizes: Sized[],
  fn: (s: Sized) => Promise<unknown>,
  iterations: number,
): Promise<number[][]> {
  const out = sizes.map(() => [] as number[]);
  for (let i = 0; i <= iterations; i++) {
    for (const [k, s] of sizes.entries()) {
      const t0 = now();
      await fn(s);
      if (i > 0) out[k].push(now() - t0);
    }
  }
  return out;
}

/**
 * One claim of one job (the worker's claim statement), timed, then its
 * completion, untimed.
 */
async function claimOnce(sql: Sql): Promise<number> {
  const t0 = now();
  const [job] = await jobs.claim(sql, { worker: "bench-scale", limit: 1, leaseSeconds: 30 });
  const ms = now() - t0;
  if (!job) throw new Error("scale: no pending job left to claim");
  await jobs.completeMany(sql, {
    worker: "bench-scale",
    items: [{ id: job.id, attempt: job.attempts, result: null }],
  });
  return ms;
}

/**
 * A kept database gives every run's claims ({@link claimOnce}, completed
 * afterwards) from its pending jobs: once fewer than `need` are left, new
 * pending jobs (as a producer enqueues them) make up the difference, so a
 * database kept over many runs does not run dry.
 */
async function topUpPending(sql: Sql, need: number): Promise<void> {
  const [{ n }] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM job WHERE status = 'pending'`;
  if (n >= need) return;
  await jobs.enqueueMany(sql, {
    jobs: Array.from(
      { length: need - n },
      (_, i) => ({ type: BENCH_TYPE, payload: benchPayload(i) }),
    ),
  });
}

/** A size's database: its URL, and whether it already holds that many seeded jobs. */
export interface ScaleDatabase {
  url: string;
  /** True when the database was kept from an earlier run and need not be seeded. */
  seeded: boolean;
}

/** Seeds `size` jobs on two connections, then VACUUM ANALYZE. */
async function fill(sql: Sql, size: number): Promise<void> {
  await seed(sql, { count: size, spreadDays: 7, connections: 2 });
  await sql`VACUUM ANALYZE`;
}

/** The probe ids of a seeded database. */
async function probeOf(sql: Sql): Promise<Probe> {
  const [job] = await sql<{ id: string }[]>`
    SELECT id FROM job WHERE status = 'failed' ORDER BY created_at DESC LIMIT 1`;
  const [other] = await sql<{ id: string }[]>`
    SELECT id FROM job WHERE status = 'completed' ORDER BY created_at LIMIT 1`;
  const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
  return { jobId: job.id, idPrefix: other.id.slice(0, 8), lastPage: Math.ceil(n / 20) };
}

/**
 * Runs the scale phase: one database per size (from `database`; the caller
 * drops it unless it is kept), seeded unless it already is, vacuumed and
 * settled; then every query timed on all sizes alternately. Returns one
 * result per query per size.
 */
export async function runScale(opts: {
  sizes: number[];
  iterations: number;
  database: (size: number) => Promise<ScaleDatabase>;
  pool: (url: string) => Sql;
}): Promise<ScaleResult[]> {
  const sized: Sized[] = [];
  try {
    for (const size of opts.sizes) {
      const db = await opts.database(size);
      const sql = opts.pool(db.url);
      const t0 = now();
      if (!db.seeded) await fill(sql, size);
      else await topUpPending(sql, opts.iterations + 1);
      sized.push({
        size,
        sql,
        app: await createApp({ sql, config: loadConfig() }),
        probe: await probeOf(sql),
      });
      say(
        `  scale: ${size} jobs in the table (${
          db.seeded ? "kept from an earlier run" : `seeded in ${Math.round(now() - t0)} ms`
        })`,
      );
    }
    // The seeding's dirty pages written out now, not during the measurements.
    await settle(sized[0].sql);
    return await measureAll(sized, opts.iterations);
  } finally {
    for (const s of sized) {
      await s.app.close();
      await s.sql.end({ timeout: 5 });
    }
  }
}

async function measureAll(sized: Sized[], iterations: number): Promise<ScaleResult[]> {
  const results: ScaleResult[] = [];
  const measure = (query: string, times: number[][]) => {
    const line = [`    ${query.padEnd(20)}`];
    for (const [k, s] of sized.entries()) {
      const t = times[k].sort((a, b) => a - b);
      const r = {
        query,
        rows: s.size,
        p50_ms: round(median(t), 3)!,
        p95_ms: round(percentile(t, 95), 3)!,
        iterations: t.length,
      };
      results.push(r);
      line.push(`${s.size}: p50 ${r.p50_ms} p95 ${r.p95_ms} ms`);
    }
    say(line.join("  "));
  };
  const claims = sized.map(() => [] as number[]);
  for (let i = 0; i <= iterations; i++) {
    for (const [k, s] of sized.entries()) {
      const ms = await claimOnce(s.sql);
      if (i > 0) claims[k].push(ms); // the first one warms the plan
    }
  }
  measure("claim", claims);
  for (const [name, fn] of Object.entries(QUERIES)) {
    measure(name, await interleaved(sized, (s) => fn(s.sql, s.probe), iterations));
  }
  for (const [name, path] of Object.entries(PAGES)) {
    const at = (s: Sized) =>
      path.replace(":id", s.probe.jobId).replace(":last", String(s.probe.lastPage));
    measure(name, await interleaved(sized, (s) => getPage(s.app, at(s)), iterations));
  }
  return results;
}
