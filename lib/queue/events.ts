/** Reads of `job_event` (writes happen with the state change, in jobs.ts). */
import type { Sql } from "../db.ts";
import type { EventKind, JobEvent } from "./types.ts";

/** A job's events, oldest first (`[]` for an unknown job). */
export async function list(sql: Sql, opts: { jobId: string }): Promise<JobEvent[]> {
  return await sql<JobEvent[]>`SELECT * FROM job_event WHERE job_id = ${opts.jobId} ORDER BY id`;
}

/** Number of events of `kind` (all jobs, or one job). */
export async function countKind(
  sql: Sql,
  opts: { kind: EventKind; jobId?: string },
): Promise<number> {
  const [{ n }] = opts.jobId
    ? await sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM job_event WHERE kind = ${opts.kind} AND job_id = ${opts.jobId}`
    : await sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM job_event WHERE kind = ${opts.kind}`;
  return n;
}
