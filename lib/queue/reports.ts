/**
 * Read-only SQL behind the `report` job type. A date range is two ISO dates
 * (`YYYY-MM-DD`), inclusive, read as whole UTC days: `[from 00:00, to+1 00:00)`.
 * Nothing here locks rows; every statement is a plain snapshot read.
 */
import type { Sql } from "../db.ts";

/** An inclusive range of UTC calendar days. */
export interface DateRange {
  from: string;
  to: string;
}

function bounds(sql: Sql, r: DateRange) {
  return {
    lo: sql`(${r.from}::date)::timestamp AT TIME ZONE 'UTC'`,
    hi: sql`((${r.to}::date + 1)::timestamp) AT TIME ZONE 'UTC'`,
  };
}

/** Jobs of one UTC day and type, by status; `failure_rate` is failed / (completed + failed). */
export interface SummaryRow {
  day: string;
  type: string;
  total: number;
  pending: number;
  processing: number;
  completed: number;
  failed: number;
  cancelled: number;
  failure_rate: number | null;
}

/**
 * Jobs created in the range, counted per UTC day and type and split by
 * status; ordered by day, then type. `[]` when no job was created then.
 */
export async function summary(sql: Sql, opts: DateRange): Promise<SummaryRow[]> {
  const { lo, hi } = bounds(sql, opts);
  // Index: job_created_idx (range scan on created_at); the grouping is in memory.
  return await sql<SummaryRow[]>`
    SELECT to_char(timezone('UTC', created_at), 'YYYY-MM-DD') AS day, type,
      count(*)::int AS total,
      count(*) FILTER (WHERE status = 'pending')::int AS pending,
      count(*) FILTER (WHERE status = 'processing')::int AS processing,
      count(*) FILTER (WHERE status = 'completed')::int AS completed,
      count(*) FILTER (WHERE status = 'failed')::int AS failed,
      count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
      round(count(*) FILTER (WHERE status = 'failed')::numeric
        / nullif(count(*) FILTER (WHERE status IN ('completed', 'failed')), 0), 4)::float8 AS failure_rate
    FROM job
    WHERE created_at >= ${lo} AND created_at < ${hi}
    GROUP BY 1, 2
    ORDER BY 1, 2`;
}

/** One failed attempt. */
export interface FailureRow {
  at: Date;
  job_id: string;
  type: string;
  attempt: number;
  worker: string | null;
  final: boolean;
  message: string;
}

/**
 * Failed attempts recorded in the range (newest first, at most `limit`),
 * with the first line of their error; `final` when the job ended failed.
 */
export async function failures(
  sql: Sql,
  opts: DateRange & { limit?: number },
): Promise<FailureRow[]> {
  const { lo, hi } = bounds(sql, opts);
  // Index: job_event_failed_at_idx (partial on kind = 'failed', by at); job by primary key.
  return await sql<FailureRow[]>`
    SELECT e.at, e.job_id, j.type, e.attempt, e.worker,
      (j.status = 'failed' AND e.attempt = j.attempts) AS final,
      left(split_part(coalesce(e.message, ''), E'\n', 1), 300) AS message
    FROM job_event e JOIN job j ON j.id = e.job_id
    WHERE e.kind = 'failed' AND e.at >= ${lo} AND e.at < ${hi}
    ORDER BY e.at DESC, e.id DESC
    LIMIT ${opts.limit ?? 10_000}`;
}

/** Work done on one UTC day. */
export interface ThroughputRow {
  day: string;
  created: number;
  completed: number;
  failed: number;
  avg_ms: number | null;
  p95_ms: number | null;
}

/**
 * Per UTC day of the range (every day, zeros included): jobs created, jobs
 * completed, jobs that ended failed, and the mean and 95th percentile run
 * time (started_at → completed_at of the last attempt) of the completed ones.
 */
export async function throughput(sql: Sql, opts: DateRange): Promise<ThroughputRow[]> {
  const { lo, hi } = bounds(sql, opts);
  // Indexes: job_created_idx, job_completed_at_idx, job_failed_at_idx (range scans).
  return await sql<ThroughputRow[]>`
    WITH days AS (
      SELECT to_char(d, 'YYYY-MM-DD') AS day
      FROM generate_series(${opts.from}::date, ${opts.to}::date, interval '1 day') AS d
    ), c AS (
      SELECT to_char(timezone('UTC', created_at), 'YYYY-MM-DD') AS day, count(*)::int AS n
      FROM job WHERE created_at >= ${lo} AND created_at < ${hi} GROUP BY 1
    ), d AS (
      SELECT to_char(timezone('UTC', completed_at), 'YYYY-MM-DD') AS day, count(*)::int AS n,
        round(avg(extract(epoch FROM completed_at - started_at) * 1000))::float8 AS avg_ms,
        round((percentile_cont(0.95) WITHIN GROUP (
          ORDER BY extract(epoch FROM completed_at - started_at) * 1000))::numeric)::float8 AS p95_ms
      FROM job WHERE completed_at >= ${lo} AND completed_at < ${hi} GROUP BY 1
    ), f AS (
      SELECT to_char(timezone('UTC', updated_at), 'YYYY-MM-DD') AS day, count(*)::int AS n
      FROM job WHERE status = 'failed' AND updated_at >= ${lo} AND updated_at < ${hi} GROUP BY 1
    )
    SELECT days.day, coalesce(c.n, 0) AS created, coalesce(d.n, 0) AS completed,
      coalesce(f.n, 0) AS failed, d.avg_ms, d.p95_ms
    FROM days LEFT JOIN c USING (day) LEFT JOIN d USING (day) LEFT JOIN f USING (day)
    ORDER BY days.day`;
}

/** A completed job and how long its last attempt ran. */
export interface SlowRow {
  id: string;
  type: string;
  ms: number;
  attempts: number;
  completed_at: Date;
}

/** The `limit` (default 10) longest-running jobs completed in the range, slowest first. */
export async function slowest(sql: Sql, opts: DateRange & { limit?: number }): Promise<SlowRow[]> {
  const { lo, hi } = bounds(sql, opts);
  // Index: job_completed_at_idx (range scan); top-N sort in memory.
  return await sql<SlowRow[]>`
    SELECT id, type, round(extract(epoch FROM completed_at - started_at) * 1000)::float8 AS ms,
      attempts, completed_at
    FROM job
    WHERE completed_at >= ${lo} AND completed_at < ${hi} AND started_at IS NOT NULL
    ORDER BY completed_at - started_at DESC, id
    LIMIT ${opts.limit ?? 10}`;
}

/** Totals over jobs created in the range. */
export interface Totals {
  total: number;
  completed: number;
  failed: number;
  failure_rate: number | null;
}

/** Jobs created in the range: how many, how many completed or failed, and the failure rate. */
export async function totals(sql: Sql, opts: DateRange): Promise<Totals> {
  const { lo, hi } = bounds(sql, opts);
  // Index: job_created_idx (range scan).
  const [row] = await sql<Totals[]>`
    SELECT count(*)::int AS total,
      count(*) FILTER (WHERE status = 'completed')::int AS completed,
      count(*) FILTER (WHERE status = 'failed')::int AS failed,
      round(count(*) FILTER (WHERE status = 'failed')::numeric
        / nullif(count(*) FILTER (WHERE status IN ('completed', 'failed')), 0), 4)::float8 AS failure_rate
    FROM job WHERE created_at >= ${lo} AND created_at < ${hi}`;
  return row;
}
