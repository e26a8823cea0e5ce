/** Admin: deleting jobs with their events and artifact. */
import type { Sql, TxSql } from "../db.ts";
import { changeOne } from "./guard.ts";
import { ConflictError, type Job } from "./types.ts";
import { type Actor, record } from "./audit.ts";

/**
 * The CTEs `changed` (the deleted rows), `ev` and `art` (their events and
 * artifact, deleted too) over a CTE `cur (id, …)` of target rows. A
 * processing row is left alone (a running job is cancelled or finished first).
 */
export function removeCtes(sql: Sql | TxSql) {
  return sql`changed AS (
      DELETE FROM job j USING cur WHERE j.id = cur.id AND j.status <> 'processing' RETURNING j.*
    ), ev AS (
      DELETE FROM job_event WHERE job_id IN (SELECT id FROM changed)
    ), art AS (
      DELETE FROM job_artifact WHERE job_id IN (SELECT id FROM changed)
    )`;
}

/**
 * Deletes a job with its events and artifact, in any state but processing.
 * Returns the deleted row; throws `NotFoundError("job_not_found")` or, for a
 * running job, `ConflictError("job_running")` (nothing changes). With an
 * `actor`, a `job.delete` audit entry (keeping the job's type, status and
 * queue, since the job is gone) is written in the same transaction.
 */
export async function remove(
  sql: Sql,
  opts: { id: string; actor?: Actor | null; now?: Date | null },
): Promise<Job> {
  const run = (tx: Sql | TxSql) =>
    changeOne(tx, {
      id: opts.id,
      ctes: removeCtes(tx),
      conflict: () =>
        new ConflictError(
          "job_running",
          "a running job cannot be deleted; cancel or wait for it first",
        ),
    });
  const actor = opts.actor;
  if (!actor) return await run(sql);
  return await sql.begin(async (tx: TxSql) => {
    const job = await run(tx);
    await record(tx, {
      actor,
      action: "job.delete",
      jobIds: [job.id],
      count: 1,
      details: { type: job.type, status: job.status, queue: job.queue },
      now: opts.now,
    });
    return job;
  }) as Job;
}

/** Deletes many jobs as {@link remove} does, in one statement; returns the deleted ids (processing and missing ones are skipped). */
export async function removeMany(sql: Sql, opts: { ids: string[] }): Promise<string[]> {
  if (opts.ids.length === 0) return [];
  // Primary key lookups; each delete re-checks the status of the row it locks.
  // Locks: the rows in id order first, the order every multi-row writer takes
  // them in (bulk actions, completions), so two of them never wait for each
  // other in a cycle.
  const rows = await sql<{ id: string }[]>`
    WITH cur AS (SELECT id FROM job WHERE id = ANY(${opts.ids}::uuid[]) ORDER BY id FOR UPDATE),
    ${removeCtes(sql)}
    SELECT id FROM changed`;
  return rows.map((r) => r.id);
}
