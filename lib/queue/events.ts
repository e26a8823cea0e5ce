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

/**
 * The newest timeline entry's id (0 when there is none): every state change
 * writes one, so a change of this value means some job changed. Cheap enough
 * to poll (the live feed does, while it cannot LISTEN). Locks nothing; the
 * primary key's index answers it from its last entry.
 */
export async function lastId(sql: Sql): Promise<number> {
  const [{ id }] = await sql<
    { id: number }[]
  >`SELECT coalesce(max(id), 0)::float8 AS id FROM job_event`;
  return id;
}
