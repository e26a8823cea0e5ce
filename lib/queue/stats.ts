/** Counts and trends for the dashboard and `/api/stats`. */
import type { Sql } from "../db.ts";
import { at } from "./clock.ts";
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
 * oldest first, empty buckets as zeros. `bucket` is `minute` or `hour`, in
 * the session's time zone. A job counts in the bucket of its `created_at`;
 * if completed, in that of its `completed_at`; if failed (its attempts used
 * up, or a permanent error), in that of its `updated_at`. Jobs that were
 * deleted or retried by hand no longer count, as in a count over the rows.
 * Read from the incrementally maintained per-minute and per-hour counts
 * (migration 0004), so the cost depends on the number of buckets, not on
 * the number of jobs in the window.
 */
export async function trend(sql: Sql, opts: {
  hours: number;
  bucket: "minute" | "hour";
  now?: Date | null;
}): Promise<TrendPoint[]> {
  const t = at(sql, opts.now);
  const step = opts.bucket === "minute" ? "1 minute" : "1 hour";
  const unit = opts.bucket;
  const lo =
    sql`date_trunc(${unit}, ${t} - make_interval(hours => ${opts.hours})) + ${step}::interval`;
  const end = sql`date_trunc(${unit}, ${t}) + ${step}::interval`;
  // Indexes: primary keys (bucket, kind) of job_trend_hour_count and
  // job_trend_count (range scans over the window's buckets); job_trend_delta
  // is small and read whole. The per-UTC-hour rows serve hour buckets when
  // every bucket of the window starts on a UTC hour (time zones with
  // whole-hour offsets); otherwise the minute rows are summed into the
  // session's hours. Only one of the two scans runs (`hourly` is an
  // init plan). Both ranges are bounded on both sides so that generic plans
  // of the prepared statement keep the index range scans.
  return await sql<TrendPoint[]>`
    WITH buckets AS (
      SELECT generate_series(${lo}, date_trunc(${unit}, ${t}), ${step}::interval) AS bucket
    ), hourly AS (
      SELECT ${unit}::text = 'hour' AND bool_and(date_trunc('hour', bucket, 'UTC') = bucket) AS ok
      FROM buckets
    ), counted AS (
      SELECT bucket, kind, n FROM job_trend_hour_count
      WHERE (SELECT ok FROM hourly) AND bucket >= ${lo} AND bucket < ${end}
      UNION ALL
      SELECT date_trunc(${unit}, bucket), kind, n FROM job_trend_count
      WHERE NOT (SELECT ok FROM hourly) AND bucket >= ${lo} AND bucket < ${end}
      UNION ALL
      SELECT date_trunc(${unit}, bucket), kind, n FROM job_trend_delta
      WHERE bucket >= ${lo} AND bucket < ${end}
    ), c AS (
      SELECT bucket,
             sum(n) FILTER (WHERE kind = 'created') AS created,
             sum(n) FILTER (WHERE kind = 'completed') AS completed,
             sum(n) FILTER (WHERE kind = 'failed') AS failed
      FROM counted GROUP BY bucket
    )
    SELECT b.bucket, coalesce(c.created, 0)::int AS created,
           coalesce(c.completed, 0)::int AS completed, coalesce(c.failed, 0)::int AS failed
    FROM buckets b LEFT JOIN c ON c.bucket = b.bucket
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
 * Exact number of jobs whose status is in `status`, type in `type`, queue
 * in `queue` and priority in `priority` (an absent or empty list matches
 * all), from the maintained counts (migrations 0002, 0006, 0017): what
 * `SELECT count(*) FROM job WHERE …` would say, without reading `job`.
 */
export async function countMatching(
  sql: Sql,
  opts: {
    status?: readonly string[];
    type?: readonly string[];
    queue?: readonly string[];
    priority?: readonly number[];
  },
): Promise<number> {
  const status = opts.status?.length ? [...opts.status] : null;
  const type = opts.type?.length ? [...opts.type] : null;
  const queue = opts.queue?.length ? [...opts.queue] : null;
  const priority = opts.priority?.length ? [...opts.priority] : null;
  const [{ n }] = await sql<{ n: number }[]>`
    SELECT coalesce(sum(n), 0)::int8 AS n FROM (
      SELECT status, type, queue, priority, n FROM job_status_count
      UNION ALL
      SELECT status, type, queue, priority, n FROM job_status_delta
    ) AS c
    WHERE (${status}::text[] IS NULL OR status = ANY(${status}::text[]))
      AND (${type}::text[] IS NULL OR type = ANY(${type}::text[]))
      AND (${queue}::text[] IS NULL OR queue = ANY(${queue}::text[]))
      AND (${priority}::smallint[] IS NULL OR priority = ANY(${priority}::smallint[]))`;
  return n;
}

/** The columns whose values the maintained counts group jobs by. */
export type CountedColumn = "status" | "type" | "queue" | "priority" | "attempts";

/**
 * The number of jobs of each value of `column` and each status among those
 * matching the filters (as {@link countMatching} reads them), from the
 * maintained counts (migrations 0002, 0006, 0017, 0024); pairs without a job
 * are left out. Ordered by the value as `ORDER BY` orders the column in
 * `job` (`status` in lifecycle order), `desc` or not: the groups of a list
 * sorted by it.
 */
export async function countGroups(
  sql: Sql,
  opts: {
    column: CountedColumn;
    desc: boolean;
    status?: readonly string[];
    type?: readonly string[];
    queue?: readonly string[];
    priority?: readonly number[];
  },
): Promise<{ value: string | number; status: string; n: number }[]> {
  const status = opts.status?.length ? [...opts.status] : null;
  const type = opts.type?.length ? [...opts.type] : null;
  const queue = opts.queue?.length ? [...opts.queue] : null;
  const priority = opts.priority?.length ? [...opts.priority] : null;
  const key = opts.column === "status"
    ? sql`array_position(${JOB_STATUSES}::text[], value)`
    : sql`value`;
  const rows = await sql<{ value: string | number; status: string; n: number | string }[]>`
    SELECT value, status, sum(n)::int8 AS n FROM (
      SELECT ${sql(opts.column)} AS value, status, type, queue, priority, n FROM job_status_count
      UNION ALL
      SELECT ${sql(opts.column)} AS value, status, type, queue, priority, n FROM job_status_delta
    ) AS c
    WHERE (${status}::text[] IS NULL OR status = ANY(${status}::text[]))
      AND (${type}::text[] IS NULL OR type = ANY(${type}::text[]))
      AND (${queue}::text[] IS NULL OR queue = ANY(${queue}::text[]))
      AND (${priority}::smallint[] IS NULL OR priority = ANY(${priority}::smallint[]))
    GROUP BY value, status HAVING sum(n) > 0
    ORDER BY ${key} ${opts.desc ? sql`DESC` : sql`ASC`}, status`;
  // A number whatever the connection's int8 parsing (the pools parse it).
  return rows.map((r) => ({ value: r.value, status: r.status, n: Number(r.n) }));
}
