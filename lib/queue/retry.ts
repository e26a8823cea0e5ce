/** Admin: retrying a failed or cancelled job by hand. */
import type postgres from "postgres";
import type { Sql, TxSql } from "../db.ts";
import { at } from "./clock.ts";
import type { Job } from "./types.ts";

/**
 * When a job retried by hand runs (in `UPDATE job j … FROM prev`, `prev`
 * holding the old status): a cancelled job whose `scheduled_for` is still
 * after `t` keeps its schedule (it was cancelled before it was due, so
 * running it early would surprise); any other job is due at `t`.
 */
export function retryScheduledFor(sql: Sql | TxSql, t: postgres.PendingQuery<postgres.Row[]>) {
  return sql`CASE WHEN prev.status = 'cancelled' AND j.scheduled_for > ${t}
    THEN j.scheduled_for ELSE ${t} END`;
}

/** The `retried` event's note on a kept schedule (over the updated row), else ''. */
export function retryNote(sql: Sql | TxSql, t: postgres.PendingQuery<postgres.Row[]>) {
  return sql`CASE WHEN scheduled_for > ${t} THEN '; keeps its schedule: due '
    || to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' ELSE '' END`;
}

/**
 * Retries by hand: a failed or cancelled job goes back to pending with its
 * attempts reset (a fresh set of tries) and a `retried` event. It is due now,
 * except a cancelled job still scheduled for later, which keeps its schedule
 * (see {@link retryScheduledFor}; the event says so).
 * Returns the row, or `null` when the job is missing or in another state.
 */
export async function retry(
  sql: Sql,
  opts: { id: string; now?: Date | null },
): Promise<Job | null> {
  const t = at(sql, opts.now);
  const [row] = await sql<Job[]>`
    WITH prev AS (
      SELECT id, status, attempts FROM job WHERE id = ${opts.id} AND status IN ('failed', 'cancelled') FOR UPDATE
    ), upd AS (
      UPDATE job j SET status = 'pending', attempts = 0, scheduled_for = ${
    retryScheduledFor(sql, t)
  },
        updated_at = ${t}
      FROM prev WHERE j.id = prev.id AND j.status IN ('failed', 'cancelled')
      RETURNING j.*, prev.status AS prev_status, prev.attempts AS prev_attempts
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, message)
      SELECT id, ${t}, 'retried', prev_attempts,
        'retried by hand (was ' || prev_status || ')' || ${retryNote(sql, t)} FROM upd
    )
    SELECT id, type, status, priority, payload, result, error, attempts, max_attempts, created_at, updated_at,
      scheduled_for, started_at, completed_at, locked_by, locked_until FROM upd`;
  return row ?? null;
}
