/**
 * Export: every job matching the list's filters, in the list's order, read
 * through a server-side cursor a batch at a time, so memory stays flat
 * however many rows match.
 */
import type { Sql } from "../db.ts";
import { listOrder, type ListQuery, listWhere } from "./list.ts";
import type { Job } from "./types.ts";

/** The list's filters and order; an export has no page (`limit`/`offset`). */
export type ExportQuery = Omit<ListQuery, "limit" | "offset">;

/** Rows fetched from the cursor at a time (the most an export holds in memory at once). */
export const EXPORT_BATCH_ROWS = 500;

/** Options of {@link exportBatches}. */
export interface ExportOptions {
  /** Rows per batch (default {@link EXPORT_BATCH_ROWS}). */
  batchRows?: number;
}

/**
 * The matching jobs in batches of at most `batchRows`, in the order of
 * `jobs.list` (the sort column, ties on `id`); nothing yielded when nothing
 * matches. One statement, one snapshot: rows changed while the export runs
 * are exported as they were when it started.
 *
 * The statement is a postgres.js cursor (an unnamed portal fetched with a row
 * limit): it holds one pool connection, and the implicit transaction of its snapshot,
 * until the last batch is read or the iteration is ended early (`return()`,
 * as `for await … break` does, or a consumer's cancel) — then the portal is
 * closed and the connection goes back to the pool. Ending it while a batch is
 * being fetched waits for that batch, then closes. A database error rejects
 * the pending `next()`.
 */
export async function* exportBatches(
  sql: Sql,
  q: ExportQuery,
  opts: ExportOptions = {},
): AsyncGenerator<Job[], void, undefined> {
  const rows = Math.max(1, opts.batchRows ?? EXPORT_BATCH_ROWS);
  // Locks nothing (a plain read). Indexes as for jobs.list: the created_at sort
  // walks job_created_idx (or a status/type/priority index when filtered);
  // other sorts, and the text filter, sort the matching rows once (spilling to
  // disk past work_mem, not into this process). Ties on id, as the list's pages.
  const cursor = sql<Job[]>`SELECT * FROM job ${listWhere(sql, q)} ${listOrder(sql, q)}`
    .cursor(rows);
  for await (const batch of cursor) yield batch;
}
