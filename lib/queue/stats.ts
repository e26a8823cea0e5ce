/** Counts and trends for the dashboard and `/api/stats`. */
import type { Sql } from "../db.ts";
import { JOB_STATUSES, type StatusCounts } from "./types.ts";

/**
 * Jobs per status, plus the total. Every status is present (0 when none).
 * Exact, and cheap at any table size: the sum of the incrementally
 * maintained `job_status_count` rows and the not yet compacted
 * `job_status_delta` rows (migration 0002), read in one snapshot. Never
 * counts `job` itself.
 */
export async function counts(sql: Sql): Promise<StatusCounts> {
  // Seq scans of two small tables (a row per status and type, plus the
  // deltas of the last few dozen statements).
  const rows = await sql<{ status: string; n: number }[]>`
    SELECT status, sum(n)::int8 AS n FROM (
      SELECT status, n FROM job_status_count
      UNION ALL
      SELECT status, n FROM job_status_delta
    ) AS c
    GROUP BY status`;
  const out = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as StatusCounts;
  out.total = 0;
  for (const r of rows) {
    (out as Record<string, number>)[r.status] = r.n;
    out.total += r.n;
  }
  return out;
}

/** One bucket of the trend chart. */
export interface TrendPoint {
  bucket: Date;
  created: number;
  completed: number;
  failed: number;
}

/**
 * Created / completed / failed (final) jobs per bucket over the last `hours`,
 * oldest first, empty buckets as zeros. `bucket` is `minute` or `hour`.
 */
export async function trend(sql: Sql, opts: {
  hours: number;
  bucket: "minute" | "hour";
  now?: Date | null;
}): Promise<TrendPoint[]> {
  const t = opts.now ? sql`${opts.now}::timestamptz` : sql`now()`;
  const step = opts.bucket === "minute" ? "1 minute" : "1 hour";
  const unit = opts.bucket;
  const lo =
    sql`date_trunc(${unit}, ${t} - make_interval(hours => ${opts.hours})) + ${step}::interval`;
  const end = sql`date_trunc(${unit}, ${t}) + ${step}::interval`;
  // Indexes: job_created_idx, job_completed_at_idx, job_failed_at_idx
  // (index-only range scans). Each range has both bounds: statements are
  // prepared, and a generic plan estimates a one-sided range on a parameter
  // at a third of the table (a sequential scan at a million rows), a
  // two-sided one at 0.5%.
  return await sql<TrendPoint[]>`
    WITH buckets AS (
      SELECT generate_series(${lo}, date_trunc(${unit}, ${t}), ${step}::interval) AS bucket
    ), c AS (
      SELECT date_trunc(${unit}, created_at) AS bucket, count(*)::int AS n FROM job
      WHERE created_at >= ${lo} AND created_at < ${end} GROUP BY 1
    ), d AS (
      SELECT date_trunc(${unit}, completed_at) AS bucket, count(*)::int AS n FROM job
      WHERE completed_at >= ${lo} AND completed_at < ${end} GROUP BY 1
    ), f AS (
      SELECT date_trunc(${unit}, updated_at) AS bucket, count(*)::int AS n FROM job
      WHERE status = 'failed' AND updated_at >= ${lo} AND updated_at < ${end} GROUP BY 1
    )
    SELECT b.bucket, coalesce(c.n, 0) AS created, coalesce(d.n, 0) AS completed, coalesce(f.n, 0) AS failed
    FROM buckets b
    LEFT JOIN c ON c.bucket = b.bucket
    LEFT JOIN d ON d.bucket = b.bucket
    LEFT JOIN f ON f.bucket = b.bucket
    ORDER BY b.bucket`;
}

/**
 * Number of jobs per (status, type) pair that has any (for `/metrics`).
 * Read from the incrementally maintained counts (see {@link counts}), so a
 * scrape costs the same at any table size.
 */
export async function countsByStatusAndType(
  sql: Sql,
): Promise<{ status: string; type: string; n: number }[]> {
  return await sql<{ status: string; type: string; n: number }[]>`
    SELECT status, type, sum(n)::int8 AS n FROM (
      SELECT status, type, n FROM job_status_count
      UNION ALL
      SELECT status, type, n FROM job_status_delta
    ) AS c
    GROUP BY status, type HAVING sum(n) <> 0
    ORDER BY status, type`;
}

/**
 * Exact number of jobs whose status is in `status` and type in `type` (an
 * absent or empty list matches all), from the maintained counts: what
 * `SELECT count(*) FROM job WHERE …` would say, without reading `job`.
 */
export async function countMatching(
  sql: Sql,
  opts: { status?: readonly string[]; type?: readonly string[] },
): Promise<number> {
  const status = opts.status?.length ? [...opts.status] : null;
  const type = opts.type?.length ? [...opts.type] : null;
  const [{ n }] = await sql<{ n: number }[]>`
    SELECT coalesce(sum(n), 0)::int8 AS n FROM (
      SELECT status, type, n FROM job_status_count
      UNION ALL
      SELECT status, type, n FROM job_status_delta
    ) AS c
    WHERE (${status}::text[] IS NULL OR status = ANY(${status}::text[]))
      AND (${type}::text[] IS NULL OR type = ANY(${type}::text[]))`;
  return n;
}
