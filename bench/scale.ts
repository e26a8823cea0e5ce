/**
 * Scale phase: claim latency and the dashboard's queries with 10 thousand,
 * 100 thousand and 1 million jobs in the table, most of them finished.
 * Measured: every query that `/`, `/jobs`, `/workers`, `/metrics` and `/api/stats*` run,
 * one by one, the six queries of `/` together as the route runs them, and
 * the pages `/`, `/jobs` and `/workers` whole (routing, queries and server
 * render) in process.
 *
 * Each size has a scratch database of its own, filled with
 * `INSERT … SELECT generate_series` (100k rows per statement): 96% completed, 2% pending,
 * 1% failed, 1% cancelled, created over the last 30 days, three job types.
 * Events are not seeded (none of the measured queries reads `job_event`
 * except the claim's insert). Each database is `VACUUM ANALYZE`d, as
 * autovacuum would have done by then. Calls alternate between the sizes
 * (10k, 100k, 1M, 10k, …), so that the load of a shared machine weighs on
 * every size alike and the ratios compare like with like.
 */
import type { Sql } from "../lib/db.ts";
import { type App, createApp } from "../lib/app.ts";
import { loadConfig } from "../lib/config.ts";
import * as jobs from "../lib/queue/jobs.ts";
import * as stats from "../lib/queue/stats.ts";
import * as workers from "../lib/queue/workers.ts";
import { median, now, percentile, round, say, settle } from "./util.ts";

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

/** The measured operations; each takes the pool and runs one call. */
const QUERIES: Record<string, (sql: Sql) => Promise<unknown>> = {
  // Dashboard status cards and /api/stats.
  stats_counts: (sql) => stats.counts(sql),
  // /jobs first page, newest first, no filter (items + total).
  list_all: (sql) => jobs.list(sql, { limit: 20 }),
  // /jobs?status=pending and ?status=failed (the filters people click).
  list_pending: (sql) => jobs.list(sql, { status: ["pending"], limit: 20 }),
  list_failed: (sql) => jobs.list(sql, { status: ["failed"], limit: 20 }),
  // Trend chart, last 24 hours by hour (/api/stats/trend's default, `/`).
  trend_24h: (sql) => stats.trend(sql, { hours: 24, bucket: "hour" }),
  // Trend chart, 7 days by hour (`/?range=7d`, /api/stats/trend?hours=168).
  trend_7d: (sql) => stats.trend(sql, { hours: 168, bucket: "hour" }),
  // Last hour by minute (`/` cards, `/?range=1h`).
  trend_1h_minute: (sql) => stats.trend(sql, { hours: 1, bucket: "minute" }),
  // `/` recent jobs.
  recent_10: (sql) => jobs.list(sql, { limit: 10, sort: "created_at", order: "desc" }),
  // `/` and `/workers`: running jobs.
  processing_100: (sql) => jobs.list(sql, { status: ["processing"], limit: 100 }),
  workers_list: (sql) => workers.list(sql),
  // `/workers`: running jobs, most recently changed first.
  workers_running: (sql) =>
    jobs.list(sql, { status: ["processing"], limit: 100, sort: "updated_at" }),
  // `/metrics`: jobs per status and type.
  metrics_counts: (sql) => stats.countsByStatusAndType(sql),
  // /jobs?q=…: a payload value held by one job in 10k, by 111 in 1M
  // (u4242, u42420…u42429, u424200…), and an e-mail address no job has.
  search_value: (sql) => jobs.list(sql, { q: "u4242", limit: 20 }),
  search_email_miss: (sql) => jobs.list(sql, { q: "nobody@example.com", limit: 20 }),
  // Everything `/` asks the database, together.
  dashboard_queries: (sql) => dashboardQueries(sql),
  dashboard_7d_queries: (sql) => dashboardQueries(sql, 168),
};

/** Adds jobs number [from, to) to the table in one statement. */
async function seed(sql: Sql, from: number, to: number): Promise<void> {
  // i % 100: 0-1 pending, 2 failed, 3 cancelled, else completed.
  await sql`
    WITH s AS (
      SELECT i, i % 100 AS k, now() - (random() * interval '30 days') AS t
      FROM generate_series(${from}::int, ${to - 1}::int) AS i
    )
    INSERT INTO job (type, status, priority, payload, result, error, attempts, created_at, updated_at,
                     scheduled_for, started_at, completed_at)
    SELECT (ARRAY['email', 'report', 'notification'])[1 + i % 3],
           CASE WHEN k < 2 THEN 'pending' WHEN k = 2 THEN 'failed' WHEN k = 3 THEN 'cancelled'
                ELSE 'completed' END,
           1 + i % 5,
           jsonb_build_object('user_id', 'u' || i, 'channel', 'push', 'message', 'seed ' || i),
           CASE WHEN k >= 4 THEN '{"ok": true}'::jsonb END,
           CASE WHEN k = 2 THEN 'Error: seeded failure' END,
           CASE WHEN k < 2 OR k = 3 THEN 0 WHEN k = 2 THEN 3 ELSE 1 END,
           t, t + interval '2 seconds', t,
           CASE WHEN k >= 2 AND k <> 3 THEN t + interval '1 second' END,
           CASE WHEN k >= 4 THEN t + interval '2 seconds' END
    FROM s`;
}

/** A page served in process by the real app (routing, queries, render). */
async function getPage(app: App, path: string): Promise<void> {
  const res = await app.fetch(new Request(`http://127.0.0.1${path}`));
  await res.text();
  if (res.status !== 200) throw new Error(`scale: GET ${path} answered ${res.status}`);
}

/** The pages measured whole, by result name. */
const PAGES: Record<string, string> = {
  dashboard_page: "/",
  jobs_page: "/jobs",
  workers_page: "/workers",
};

/** One table size under measurement: its database, pool and in-process app. */
interface Sized {
  size: number;
  sql: Sql;
  app: App;
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
 * Runs the scale phase: one scratch database per size (made by `database`,
 * dropped by the caller), seeded, vacuumed and settled; then every query
 * timed on all sizes alternately. Returns one result per query per size.
 */
export async function runScale(opts: {
  sizes: number[];
  iterations: number;
  database: (label: string) => Promise<{ url: string }>;
  pool: (url: string) => Sql;
}): Promise<ScaleResult[]> {
  const sized: Sized[] = [];
  try {
    for (const size of opts.sizes) {
      const { url } = await opts.database(`s${size}`);
      const sql = opts.pool(url);
      const t0 = now();
      // Chunks of 100k keep each statement's memory and WAL burst bounded.
      for (let from = 0; from < size; from += 100_000) {
        await seed(sql, from, Math.min(size, from + 100_000));
      }
      await sql`VACUUM ANALYZE`;
      sized.push({ size, sql, app: await createApp({ sql, config: loadConfig() }) });
      say(`  scale: ${size} jobs in the table (seeded in ${Math.round(now() - t0)} ms)`);
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
    measure(name, await interleaved(sized, (s) => fn(s.sql), iterations));
  }
  for (const [name, path] of Object.entries(PAGES)) {
    measure(name, await interleaved(sized, (s) => getPage(s.app, path), iterations));
  }
  return results;
}
