/**
 * Reads of a job's timeline: the `job_timeline` view (migration 0023), the
 * stored `job_event` rows and the `created` step made from the job's row
 * when none is stored. Writes happen with the state change, in jobs.ts.
 */
import type { Sql } from "../db.ts";
import type { EventKind, JobEvent } from "./types.ts";

/** A job's events, oldest first (`[]` for an unknown job). */
export async function list(sql: Sql, opts: { jobId: string }): Promise<JobEvent[]> {
  // Index: job_event_job_idx for the stored events, job_pkey for the row.
  return await sql<JobEvent[]>`SELECT * FROM job_timeline WHERE job_id = ${opts.jobId} ORDER BY id`;
}

/** Number of events of `kind` (all jobs, or one job), `created` steps made from rows included. */
export async function countKind(
  sql: Sql,
  opts: { kind: EventKind; jobId?: string },
): Promise<number> {
  const [{ n }] = opts.jobId
    ? await sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM job_timeline WHERE kind = ${opts.kind} AND job_id = ${opts.jobId}`
    : await sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM job_timeline WHERE kind = ${opts.kind}`;
  return n;
}

/**
 * How far the timeline has come (0 before its first entry): every state change
 * writes an entry, and each entry takes the next value of job_event's id
 * sequence (an enqueue, whose `created` step is its row, takes one per
 * statement), so a change of this value means some job changed. Read from the
 * sequence itself, not the table (job_event has no index on `id` alone), so
 * it costs the same at any size: cheap enough to poll (the live feed does,
 * while it cannot LISTEN). A rolled-back entry moves it too: one needless
 * refresh, never a missed one.
 */
export async function lastId(sql: Sql): Promise<number> {
  const [{ id }] = await sql<{ id: number }[]>`
    SELECT coalesce(
      pg_sequence_last_value(pg_get_serial_sequence('job_event', 'id')::regclass), 0
    )::float8 AS id`;
  return id;
}
