/** Hot path: recording a failed attempt (retry with backoff, or failed), fenced. */
import type { Sql } from "../db.ts";
import { backoffMs, errorText } from "./backoff.ts";
import { at } from "./clock.ts";
import { type Fence, fenceConflict, notCancelled } from "./complete.ts";
import { changedOrThrow, type GuardedRow } from "./guard.ts";
import type { Job } from "./types.ts";

/** Retry policy for {@link fail}. */
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  random?: () => number;
}

/** What {@link fail} and {@link failOrThrow} take. */
export type FailOptions = Fence & {
  error: unknown;
  retry: RetryPolicy;
  permanent?: boolean;
  now?: Date | null;
};

/**
 * Records a failed attempt. Fenced like {@link complete}. While attempts <
 * max_attempts (and not `permanent`) the job returns to pending, due after an
 * exponential backoff with jitter; else it ends `failed`. The error (safely
 * serialised, at most a few KB) goes into the job and its `failed` event.
 * Returns the updated row, or `null` when the caller no longer holds the job.
 * A job whose cancel was requested while it ran ends `cancelled` instead (not
 * retried; a `cancelled` event saying so, with the error).
 */
export async function fail(sql: Sql, opts: FailOptions): Promise<Job | null> {
  const [row] = await sql<Job[]>`${failStatement(sql, opts)} SELECT * FROM upd`;
  return row ?? null;
}

/**
 * {@link fail} for a caller that must say why nothing happened (the external
 * worker's API): returns the updated row, or throws
 * `NotFoundError("job_not_found")`, or {@link fenceConflict}; a job whose
 * cancel was requested is recorded `cancelled` and throws `job_cancelled`.
 */
export async function failOrThrow(sql: Sql, opts: FailOptions): Promise<Job> {
  // `cur` reads the row as the statement's snapshot saw it (before `upd`).
  const rows = await sql<GuardedRow[]>`
    ${failStatement(sql, opts)}, cur AS (SELECT status FROM job WHERE id = ${opts.id})
    SELECT cur.status AS found_status, upd.* FROM cur LEFT JOIN upd ON true`;
  return notCancelled(changedOrThrow(opts.id, rows, fenceConflict));
}

/** The CTEs that fail the attempt; the caller selects from `upd`. */
function failStatement(sql: Sql, opts: FailOptions) {
  const t = at(sql, opts.now);
  const message = errorText(opts.error);
  const delayMs = backoffMs({
    attempt: opts.attempt,
    baseMs: opts.retry.baseMs,
    maxMs: opts.retry.maxMs,
    random: opts.retry.random,
  });
  const permanent = opts.permanent ?? false;
  // Locks: the one row, by primary key, only if still held by the caller.
  // A cancel requested while it ran wins over the retry path.
  return sql`
    WITH upd AS (
      UPDATE job j SET
        status = CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled'
          WHEN j.attempts < j.max_attempts AND NOT ${permanent} THEN 'pending' ELSE 'failed' END,
        scheduled_for = CASE WHEN j.cancel_requested_at IS NULL AND j.attempts < j.max_attempts
          AND NOT ${permanent} THEN ${t} + make_interval(secs => ${delayMs / 1000})
          ELSE j.scheduled_for END,
        error = ${message}, updated_at = ${t}, locked_by = NULL, locked_until = NULL
      WHERE j.id = ${opts.id} AND j.status = 'processing' AND j.attempts = ${opts.attempt}
        AND j.locked_by = ${opts.worker}
      RETURNING j.*
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker, message)
      SELECT id, ${t}, CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'failed' END,
        attempts, ${opts.worker},
        CASE WHEN status = 'pending' THEN ${message} || E'\n(retry scheduled at '
               || to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"') || ')'
             WHEN status = 'cancelled' THEN 'cancelled while running; the attempt ended with: '
               || ${message}
             ELSE ${message} END
      FROM upd
    )`;
}
