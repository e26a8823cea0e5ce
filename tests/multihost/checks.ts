/**
 * What the multihost test reads back from PostgreSQL (over a direct
 * connection from the root namespace): a queue's counts, its drain rate,
 * its rescues, and who recorded each outcome.
 */
import type { Sql } from "../../lib/db.ts";

/** Jobs of one queue by status. */
export interface QueueCounts {
  total: number;
  pending: number;
  processing: number;
  completed: number;
  failed: number;
  cancelled: number;
}

/** `queue`'s jobs by status. */
export async function queueCounts(sql: Sql, queue: string): Promise<QueueCounts> {
  const rows = await sql<{ status: keyof QueueCounts; n: number }[]>`
    SELECT status, count(*)::int AS n FROM job WHERE queue = ${queue} GROUP BY status`;
  const c: QueueCounts = {
    total: 0,
    pending: 0,
    processing: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
  };
  for (const r of rows) {
    c[r.status] = r.n;
    c.total += r.n;
  }
  return c;
}

/**
 * Waits until `queue` holds `n` finished jobs and none pending or
 * processing (looking every 500 ms); rejects after `timeoutMs` with the
 * counts.
 */
export async function waitDrained(
  sql: Sql,
  opts: { queue: string; n: number; timeoutMs: number },
): Promise<QueueCounts> {
  const until = Date.now() + opts.timeoutMs;
  for (;;) {
    const c = await queueCounts(sql, opts.queue);
    if (c.total >= opts.n && c.pending === 0 && c.processing === 0) return c;
    if (Date.now() > until) {
      throw new Error(`multihost: queue ${opts.queue} not drained in time: ${JSON.stringify(c)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Makes every job of `queue` due now (they were enqueued for a far future
 * instant, so nothing ran while they were stored), then sends `wakes`
 * `jobq_new` notifications, as producers do. Returns the database instant.
 */
export async function release(sql: Sql, queue: string, wakes: number): Promise<Date> {
  const [r] = await sql<{ at: Date }[]>`
    WITH due AS (UPDATE job SET scheduled_for = now() WHERE queue = ${queue} AND status = 'pending')
    SELECT now() AS at`;
  for (let i = 0; i < wakes; i++) await sql`SELECT pg_notify('jobq_new', ${String(i)})`;
  return r.at;
}

/**
 * Drain rate of `queue` by the database clock: its completed jobs over the
 * time from `since` (when they were made due) to the last completion.
 */
export async function drainRate(
  sql: Sql,
  queue: string,
  since: Date,
): Promise<{ jobs: number; seconds: number }> {
  const [r] = await sql<{ jobs: number; seconds: number }[]>`
    SELECT count(*)::int AS jobs,
      extract(epoch FROM max(completed_at) - ${since}::timestamptz)::float8 AS seconds
    FROM job WHERE queue = ${queue} AND status = 'completed'`;
  return r;
}

/** Jobs processing under a lease of worker process `pid`'s runners. */
export async function heldBy(sql: Sql, pid: number): Promise<number> {
  const [r] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM job
    WHERE status = 'processing' AND locked_by LIKE ${`%:${pid}:%`}`;
  return r.n;
}

/** What the partition run's timelines say. */
export interface Timelines {
  /** `completed` events (exactly one per job when every outcome is recorded once). */
  completedEvents: number;
  /** `rescued` events. */
  rescued: number;
  /** `rescued` events whose lease holder was a worker of `pid`. */
  rescuedFromPid: number;
  /** Jobs run more than once (attempts > 1). */
  reRun: number;
  /** Jobs run more than once without a `rescued` event. */
  reRunUnrescued: number;
}

/** Reads {@link Timelines} of `queue`; `pid` is the cut host's worker process. */
export async function timelines(sql: Sql, queue: string, pid: number): Promise<Timelines> {
  const pattern = `%:${pid}:%`;
  const [r] = await sql<Timelines[]>`
    SELECT
      (SELECT count(*)::int FROM job_event e JOIN job j ON j.id = e.job_id
        WHERE j.queue = ${queue} AND e.kind = 'completed') AS "completedEvents",
      (SELECT count(*)::int FROM job_event e JOIN job j ON j.id = e.job_id
        WHERE j.queue = ${queue} AND e.kind = 'rescued') AS rescued,
      (SELECT count(*)::int FROM job_event e JOIN job j ON j.id = e.job_id
        WHERE j.queue = ${queue} AND e.kind = 'rescued' AND e.worker LIKE ${pattern})
        AS "rescuedFromPid",
      (SELECT count(*)::int FROM job WHERE queue = ${queue} AND attempts > 1) AS "reRun",
      (SELECT count(*)::int FROM job j WHERE j.queue = ${queue} AND j.attempts > 1
        AND NOT EXISTS (SELECT 1 FROM job_event e WHERE e.job_id = j.id AND e.kind = 'rescued'))
        AS "reRunUnrescued"`;
  return r;
}

/**
 * Of the jobs `ids` (results the cut host was refused), how many have their
 * one `completed` event written by a worker of another process than `pid`.
 */
export async function completedElsewhere(sql: Sql, ids: string[], pid: number): Promise<number> {
  if (ids.length === 0) return 0;
  const [r] = await sql<{ n: number }[]>`
    SELECT count(DISTINCT e.job_id)::int AS n FROM job_event e
    WHERE e.job_id = ANY(${ids}::uuid[]) AND e.kind = 'completed'
      AND e.worker NOT LIKE ${`%:${pid}:%`}`;
  return r.n;
}

/** Completions per worker process pid in `queue` (from the `completed` events). */
export async function completionsByPid(sql: Sql, queue: string): Promise<Map<number, number>> {
  const rows = await sql<{ pid: number; n: number }[]>`
    SELECT split_part(e.worker, ':', 2)::int AS pid, count(*)::int AS n
    FROM job_event e JOIN job j ON j.id = e.job_id
    WHERE j.queue = ${queue} AND e.kind = 'completed'
    GROUP BY 1`;
  return new Map(rows.map((r) => [r.pid, r.n]));
}

/**
 * Server connections to `dbname` now, other than those named `exclude`
 * (the test's own): how many, how many of them are sessions that ran
 * LISTEN, and their backend pids.
 */
export async function backends(
  sql: Sql,
  dbname: string,
  exclude: string,
): Promise<{ all: number; listening: number; pids: number[] }> {
  const [r] = await sql<{ all: number; listening: number; pids: number[] }[]>`
    SELECT count(*)::int AS all,
      count(*) FILTER (WHERE query ILIKE 'listen %')::int AS listening,
      coalesce(array_agg(pid), '{}') AS pids
    FROM pg_stat_activity
    WHERE datname = ${dbname} AND application_name <> ${exclude}`;
  return r;
}
