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
 * limit): it holds one pool connection, and the implicit transaction of its
 * snapshot, until the last batch is read or the iteration is ended early
 * (`return()`, as `for await … break` does, or a consumer's cancel) — then
 * the portal is closed and the connection goes back to the pool. The next
 * batch is fetched only when the previous one is asked past. A database
 * error, also a connection lost while the consumer held a batch, rejects the
 * next `next()`: a cut-off export never looks complete.
 *
 * (postgres.js's own async iterator over a cursor ends as if complete when the
 * connection is lost between batches, so the callback form is bridged here.)
 */
export async function* exportBatches(
  sql: Sql,
  q: ExportQuery,
  opts: ExportOptions = {},
): AsyncGenerator<Job[], void, undefined> {
  const rows = Math.max(1, opts.batchRows ?? EXPORT_BATCH_ROWS);
  /** Batches handed over by the cursor, each with the function that lets it go on (or close). */
  const ready: { rows: Job[]; resume: (close: boolean) => void }[] = [];
  let state = "running" as "running" | "done" | "failed";
  let failure: unknown;
  let wake = () => {};
  const notify = () => wake();
  // Locks nothing (a plain read). Indexes as for jobs.list: the created_at sort
  // walks job_created_idx (or a status/type/priority index when filtered);
  // other sorts, and the text filter, sort the matching rows once (spilling to
  // disk past work_mem, not into this process). Ties on id, as the list's pages.
  const statement = sql<Job[]>`SELECT * FROM job ${listWhere(sql, q)} ${listOrder(sql, q)}`
    .cursor(rows, (batch: Job[]) =>
      new Promise((resolve) => {
        ready.push({ rows: batch, resume: (close) => resolve(close ? sql.CLOSE : undefined) });
        notify();
      }));
  const settled = statement.then(
    () => (state = "done", notify()),
    (err) => (state = "failed", failure = err, notify()),
  );
  let held: { resume: (close: boolean) => void } | undefined;
  try {
    for (;;) {
      const next = ready.shift();
      if (next) {
        held = next;
        yield next.rows;
        held = undefined;
        // A lost connection is not asked for more (its socket may serve another query by now).
        if (state === "running") next.resume(false);
        continue;
      }
      if (state === "failed") throw failure;
      if (state === "done") return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    if (state === "running") {
      // Ended early: close the portal (Close + Sync), then wait for the connection to be free.
      held?.resume(true);
      for (const r of ready.splice(0)) r.resume(true);
      await settled;
    }
  }
}
