/**
 * Scale phase: claim latency and the dashboard's queries with 10 thousand,
 * 100 thousand and 1 million jobs in the table, most of them finished.
 *
 * The table is grown in place (10k, then +90k, then +900k) with one
 * `INSERT … SELECT generate_series` per step: 96% completed, 2% pending,
 * 1% failed, 1% cancelled, created over the last 30 days, three job types.
 * Events are not seeded (none of the measured queries reads `job_event`
 * except the claim's insert). After each step the table is
 * `VACUUM ANALYZE`d, as autovacuum would have done by then.
 */
import type { Sql } from "../lib/db.ts";
import * as jobs from "../lib/queue/jobs.ts";
import * as stats from "../lib/queue/stats.ts";
import { median, now, percentile, round, say } from "./util.ts";

/** One measured query at one table size. */
export interface ScaleResult {
  query: string;
  rows: number;
  p50_ms: number;
  p95_ms: number;
  iterations: number;
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
  // Trend chart, last 24 hours by hour.
  trend_24h: (sql) => stats.trend(sql, { hours: 24, bucket: "hour" }),
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

async function timeIt(
  sql: Sql,
  fn: (sql: Sql) => Promise<unknown>,
  iterations: number,
): Promise<number[]> {
  const out: number[] = [];
  await fn(sql); // warm: plan cache, buffers
  for (let i = 0; i < iterations; i++) {
    const t0 = now();
    await fn(sql);
    out.push(now() - t0);
  }
  return out;
}

/**
 * Claim latency: `iterations` claims of one job each (the worker's claim
 * statement), each followed by its completion, timed around the claim only.
 */
async function claimTimes(sql: Sql, iterations: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i <= iterations; i++) {
    const t0 = now();
    const [job] = await jobs.claim(sql, { worker: "bench-scale", limit: 1, leaseSeconds: 30 });
    const ms = now() - t0;
    if (!job) throw new Error("scale: no pending job left to claim");
    if (i > 0) out.push(ms); // the first one warms the plan
    await jobs.completeMany(sql, {
      worker: "bench-scale",
      items: [{ id: job.id, attempt: job.attempts, result: null }],
    });
  }
  return out;
}

/** Runs the scale phase; returns one result per query per size. */
export async function runScale(sql: Sql, opts: {
  sizes: number[];
  iterations: number;
}): Promise<ScaleResult[]> {
  const results: ScaleResult[] = [];
  let have = 0;
  for (const size of opts.sizes) {
    if (size < have) throw new Error("scale: sizes must grow");
    const t0 = now();
    // Chunks of 100k keep each statement's memory and WAL burst bounded.
    for (let from = have; from < size; from += 100_000) {
      await seed(sql, from, Math.min(size, from + 100_000));
    }
    await sql`VACUUM ANALYZE job`;
    say(`  scale: ${size} jobs in the table (seeded in ${Math.round(now() - t0)} ms)`);
    have = size;
    const measure = (query: string, times: number[]) => {
      times.sort((a, b) => a - b);
      const r = {
        query,
        rows: size,
        p50_ms: round(median(times), 3)!,
        p95_ms: round(percentile(times, 95), 3)!,
        iterations: times.length,
      };
      results.push(r);
      say(`    ${query.padEnd(14)} p50 ${r.p50_ms} ms  p95 ${r.p95_ms} ms`);
    };
    measure("claim", await claimTimes(sql, opts.iterations));
    for (const [name, fn] of Object.entries(QUERIES)) {
      measure(name, await timeIt(sql, fn, opts.iterations));
    }
  }
  return results;
}
