/**
 * Hot path upkeep: returning expired leases ({@link rescueExpired}), and the
 * rescuer's turn ({@link rescuePass}): one process in the cluster at a time
 * rescues and deletes rows of dead worker processes.
 */
import type { Sql, TxSql } from "../db.ts";
import { at } from "./clock.ts";
import { RESCUER_LOCK_KEY } from "./lock_keys.ts";
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
    return { ran: true, rescued, staleWorkers };
  }) as RescuePass;
}

/** What the rescuer did to one job. */
export interface Rescued {
  id: string;
  status: JobStatus;
  attempts: number;
  previous_worker: string;
}

/**
 * Returns jobs whose lease expired (by the database clock) to the retry path:
 * pending again (due now) when attempts remain, else failed. The crashed
 * attempt counts. Writes a `rescued` event each; re-checks the condition in
 * the UPDATE. A job whose cancel was requested ends `cancelled` instead (a
 * `cancelled` event). Returns what it changed (at most `limit`).
 */
export async function rescueExpired(
  sql: Sql,
  opts: { limit?: number; now?: Date | null } = {},
): Promise<Rescued[]> {
  const t = at(sql, opts.now);
  // Index: job_lease_idx (partial on processing, by locked_until).
  return await sql<Rescued[]>`
    WITH expired AS (
      SELECT id, locked_by FROM job
      WHERE status = 'processing' AND locked_until < ${t}
      ORDER BY locked_until
      LIMIT ${opts.limit ?? 1000}
      FOR UPDATE SKIP LOCKED
    ), upd AS (
      UPDATE job j SET
        status = CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled'
          WHEN j.attempts < j.max_attempts THEN 'pending' ELSE 'failed' END,
        error = 'lease expired: worker ' || expired.locked_by || ' stopped renewing it',
        scheduled_for = ${t}, updated_at = ${t}, locked_by = NULL, locked_until = NULL
      FROM expired
      WHERE j.id = expired.id AND j.status = 'processing' AND j.locked_until < ${t}
      RETURNING j.id, j.status, j.attempts, expired.locked_by AS previous_worker
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker, message)
      SELECT id, ${t}, CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'rescued' END,
        attempts, previous_worker,
        CASE WHEN status = 'cancelled' THEN 'cancelled while running; its lease expired'
          ELSE 'lease expired; ' || CASE WHEN status = 'pending' THEN 'returned to pending'
                                         ELSE 'no attempts left: failed' END END
      FROM upd
    )
    SELECT * FROM upd`;
}
