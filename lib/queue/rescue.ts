/**
 * Hot path upkeep: returning expired leases ({@link rescueExpired}), and the
 * rescuer's turn ({@link rescuePass}): one process in the cluster at a time
 * rescues and deletes rows of dead worker processes.
 */
import type { Sql, TxSql } from "../db.ts";
import { at } from "./clock.ts";
import { RESCUER_LOCK_KEY } from "./lock_keys.ts";
import { pruneMarks } from "./marks.ts";
import type { JobStatus } from "./types.ts";
import { cleanupStale } from "./workers.ts";

/** What one rescue pass did; `ran: false` when another process held the turn. */
export interface RescuePass {
  ran: boolean;
  rescued: Rescued[];
  staleWorkers: string[];
}

/**
 * In one transaction: takes the rescuer's transaction-scoped advisory lock
 * without waiting (another process holding it means this pass does nothing),
 * then rescues up to `limit` expired leases and deletes worker rows whose
 * heartbeat is older than `staleSeconds`. The lock ends with the transaction,
 * so a rescuer that dies never blocks the next one.
 */
export async function rescuePass(
  sql: Sql,
  opts: { staleSeconds: number; limit?: number },
): Promise<RescuePass> {
  return await sql.begin(async (tx: TxSql) => {
    const [{ ok }] = await tx<
      { ok: boolean }[]
    >`SELECT pg_try_advisory_xact_lock(${RESCUER_LOCK_KEY}) AS ok`;
    if (!ok) return { ran: false, rescued: [], staleWorkers: [] };
    const rescued = await rescueExpired(tx as unknown as Sql, { limit: opts.limit ?? 1000 });
    const staleWorkers = await cleanupStale(tx as unknown as Sql, {
      staleSeconds: opts.staleSeconds,
    });
    await pruneMarks(tx as unknown as Sql, { staleSeconds: opts.staleSeconds });
    return { ran: true, rescued, staleWorkers };
  }) as RescuePass;
}

/** What the rescuer did to one job. */
export interface Rescued {
  id: string;
  status: JobStatus;
  attempts: number;
  previous_worker: string;
  /**
   * Whether the attempt its claim counted stays counted: `false` when its
   * runner's mark (marks.ts) says the job never started; it was then given
   * back with `attempts` one less.
   */
  counted: boolean;
}

/**
 * Returns jobs whose lease expired (by the database clock) to the retry path:
 * pending again (due now) when attempts remain, else failed. The crashed
 * attempt counts (a `rescued` event), unless the runner's mark (marks.ts)
 * says the job was claimed ahead and never started: then it is given back as
 * a graceful stop gives it back (attempts − 1, a `released` event). A job
 * whose cancel was requested ends `cancelled` instead (a `cancelled` event).
 * Re-checks the condition in the UPDATE. Returns what it changed (at most
 * `limit`).
 */
export async function rescueExpired(
  sql: Sql,
  opts: { limit?: number; now?: Date | null } = {},
): Promise<Rescued[]> {
  const t = at(sql, opts.now);
  // Index: job_lease_idx (partial on processing, by locked_until); the marks
  // by primary key (one row per runner), their bound jobs by job_pkey. A job
  // is unstarted when it is of its runner's marked batch (claimed then) and
  // at or after the bound in claim order.
  return await sql<Rescued[]>`
    WITH expired AS (
      SELECT id, locked_by, started_at, priority, created_at FROM job
      WHERE status = 'processing' AND locked_until < ${t}
      ORDER BY locked_until
      LIMIT ${opts.limit ?? 1000}
      FOR UPDATE SKIP LOCKED
    ), marked AS (
      SELECT e.id, e.locked_by,
        coalesce(e.started_at = m.claimed_at AND b.started_at = m.claimed_at
          AND (-e.priority, e.created_at, e.id) >= (-b.priority, b.created_at, b.id), false)
          AS unstarted
      FROM expired e
      LEFT JOIN runner_mark m ON m.runner = e.locked_by
      LEFT JOIN job b ON b.id = m.bound
    ), upd AS (
      UPDATE job j SET
        status = CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled'
          WHEN marked.unstarted OR j.attempts < j.max_attempts THEN 'pending' ELSE 'failed' END,
        attempts = CASE WHEN marked.unstarted AND j.cancel_requested_at IS NULL
          THEN j.attempts - 1 ELSE j.attempts END,
        error = CASE WHEN marked.unstarted THEN j.error
          ELSE 'lease expired: worker ' || marked.locked_by || ' stopped renewing it' END,
        scheduled_for = ${t}, updated_at = ${t}, locked_by = NULL, locked_until = NULL
      FROM marked
      WHERE j.id = marked.id AND j.status = 'processing' AND j.locked_until < ${t}
      RETURNING j.id, j.status, j.attempts, marked.locked_by AS previous_worker,
        NOT (marked.unstarted AND j.cancel_requested_at IS NULL) AS counted
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker, message)
      SELECT id, ${t},
        CASE WHEN status = 'cancelled' THEN 'cancelled' WHEN counted THEN 'rescued' ELSE 'released' END,
        CASE WHEN counted THEN attempts ELSE attempts + 1 END, previous_worker,
        CASE WHEN status = 'cancelled' THEN 'cancelled while running; its lease expired'
          WHEN NOT counted THEN 'its worker stopped before starting it: the attempt is not counted'
          ELSE 'lease expired; ' || CASE WHEN status = 'pending' THEN 'returned to pending'
                                         ELSE 'no attempts left: failed' END END
      FROM upd
    )
    SELECT * FROM upd`;
}
