/**
 * Guarded changes (cancel, retry, remove, the fenced complete and fail)
 * answer in one statement: the changed row, or the typed error saying why
 * nothing changed — the caller never re-reads the job to find out. As
 * River's `JobCancel`: the statement selects the status it found next to
 * the changed row's columns (all null when the change matched nothing).
 */
import type postgres from "postgres";
import type { Sql, TxSql } from "../db.ts";
import { ConflictError, type Job, type JobStatus, NotFoundError } from "./types.ts";

/** One row of a guarded statement: `SELECT cur.status AS found_status, changed.* FROM cur LEFT JOIN changed ON true`. */
export type GuardedRow<T extends { id: string } = Job> =
  & { found_status: JobStatus }
  & { [K in keyof T]: T[K] | null };

/** The error for a job id with no row. */
export function jobNotFound(id: string): NotFoundError {
  return new NotFoundError("job_not_found", `no job with id ${id}`);
}

/**
 * The changed row, without `found_status`. Throws {@link jobNotFound} when
 * the statement found no job (no row), and `conflict(status found)` when it
 * found one but changed nothing (a null `id`).
 */
export function changedOrThrow<T extends { id: string } = Job>(
  id: string,
  rows: GuardedRow<T>[],
  conflict: (status: JobStatus) => ConflictError,
): T {
  const [row] = rows;
  if (!row) throw jobNotFound(id);
  const { found_status, ...changed } = row;
  if (changed.id === null) throw conflict(found_status);
  return changed as unknown as T;
}

/**
 * Runs an admin change on the one job `id`: `ctes` (named `changed`, …) over
 * `cur (id, status, attempts)`, that row locked by primary key so the status
 * reported is the one the change saw. Returns the changed row, or throws as
 * {@link changedOrThrow} does.
 */
export async function changeOne(
  sql: Sql | TxSql,
  opts: {
    id: string;
    ctes: postgres.PendingQuery<postgres.Row[]>;
    conflict: (status: JobStatus) => ConflictError;
  },
): Promise<Job> {
  const rows = await sql<GuardedRow[]>`
    WITH cur AS (SELECT id, status, attempts FROM job WHERE id = ${opts.id} FOR UPDATE), ${opts.ctes}
    SELECT cur.status AS found_status, changed.* FROM cur LEFT JOIN changed ON true`;
  return changedOrThrow(opts.id, rows, opts.conflict);
}
