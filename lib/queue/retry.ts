/** Admin: retrying failed or cancelled jobs by hand. */
import type { Sql, TxSql } from "../db.ts";
import { at, type Instant } from "./clock.ts";
import { changeOne } from "./guard.ts";
import { ConflictError, type Job } from "./types.ts";

/**
 * When a job retried by hand runs (in `UPDATE job j … FROM cur AS prev`,
 * `prev` holding the old status): a cancelled job whose `scheduled_for` is
 * still after `t` keeps its schedule (it was cancelled before it was due, so
 * running it early would surprise); any other job is due at `t`.
 */
function retryScheduledFor(sql: Sql | TxSql, t: Instant) {
  return sql`CASE WHEN prev.status = 'cancelled' AND j.scheduled_for > ${t}
    THEN j.scheduled_for ELSE ${t} END`;
}

/** The `retried` event's note on a kept schedule (over the updated row), else ''. */
function retryNote(sql: Sql | TxSql, t: Instant) {
  return sql`CASE WHEN scheduled_for > ${t} THEN '; keeps its schedule: due '
    || to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' ELSE '' END`;
}

/**
 * The CTEs `changed` (the retried rows) and `ev` (their `retried` events:
 * `<note>was <old status>)`, plus a kept schedule) over a CTE
 * `cur (id, status, attempts)` of target rows the statement has already
 * locked. Rows neither failed nor cancelled are left alone, and so is a job
 * whose `unique_key` a pending or processing job holds (index:
 * job_unique_active_idx) or another target with the same key retries (of
 * several, only the first by id goes back to pending).
 */
export function retryCtes(sql: Sql | TxSql, opts: { t: Instant; note: string }) {
  const t = opts.t;
  return sql`changed AS (
      UPDATE job j SET status = 'pending', attempts = 0, scheduled_for = ${
    retryScheduledFor(sql, t)
  },
        updated_at = ${t}
      FROM cur AS prev WHERE j.id = prev.id AND j.status IN ('failed', 'cancelled')
        AND (j.unique_key IS NULL OR (NOT EXISTS (
          SELECT 1 FROM job o WHERE o.unique_key = j.unique_key AND o.unique_key IS NOT NULL
            AND o.status IN ('pending', 'processing'))
          AND j.id = (SELECT o.id FROM cur c JOIN job o ON o.id = c.id
            WHERE o.unique_key = j.unique_key AND o.status IN ('failed', 'cancelled')
            ORDER BY o.id LIMIT 1)))
      RETURNING j.*
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, message)
      SELECT changed.id, ${t}, 'retried', prev.attempts,
        ${opts.note} || 'was ' || prev.status || ')' || ${retryNote(sql, t)}
      FROM changed JOIN cur AS prev ON prev.id = changed.id
    )`;
}

/**
 * Retries by hand: a failed or cancelled job goes back to pending with its
 * attempts reset (a fresh set of tries) and a `retried` event. It is due now,
 * except a cancelled job still scheduled for later, which keeps its schedule
 * (the event says so). Returns the row; throws `NotFoundError("job_not_found")`,
 * `ConflictError("job_not_retryable")`, or `ConflictError("unique_key_taken")`
 * when a pending or processing job holds its `unique_key` (nothing changes).
 */
export async function retry(sql: Sql, opts: { id: string; now?: Date | null }): Promise<Job> {
  return await changeOne(sql, {
    id: opts.id,
    ctes: retryCtes(sql, { t: at(sql, opts.now), note: "retried by hand (" }),
    conflict: (status) =>
      status === "failed" || status === "cancelled"
        ? new ConflictError(
          "unique_key_taken",
          "a pending or processing job holds this job's unique_key; retry it once that one finishes",
        )
        : new ConflictError(
          "job_not_retryable",
          `only a failed or cancelled job can be retried; this one is ${status}`,
        ),
  });
}
