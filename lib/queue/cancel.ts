/** Admin: cancelling pending jobs by hand. */
import type { Sql, TxSql } from "../db.ts";
import { at, type Instant } from "./clock.ts";
import { changeOne } from "./guard.ts";
import { ConflictError, type Job } from "./types.ts";

/**
 * The CTEs `changed` (the cancelled rows) and `ev` (their `cancelled`
 * events, with `note`) over a CTE `cur (id, status, attempts)` of target
 * rows the statement has already locked. Rows not pending are left alone.
 */
export function cancelCtes(sql: Sql | TxSql, opts: { t: Instant; note: string }) {
  return sql`changed AS (
      UPDATE job j SET status = 'cancelled', updated_at = ${opts.t}
      FROM cur WHERE j.id = cur.id AND j.status = 'pending'
      RETURNING j.*
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, message)
      SELECT id, ${opts.t}, 'cancelled', attempts, ${opts.note} FROM changed
    )`;
}

/**
 * Cancels a pending job (with its `cancelled` event). Returns the row;
 * throws `NotFoundError("job_not_found")` when there is no such job and
 * `ConflictError("job_not_pending")` when it is not pending (nothing changes).
 */
export async function cancel(sql: Sql, opts: { id: string; now?: Date | null }): Promise<Job> {
  return await changeOne(sql, {
    id: opts.id,
    ctes: cancelCtes(sql, { t: at(sql, opts.now), note: "cancelled by hand" }),
    conflict: (status) =>
      new ConflictError(
        "job_not_pending",
        `only a pending job can be cancelled; this one is ${status}`,
      ),
  });
}
