/**
 * The rescuer's turn: one process in the cluster at a time returns expired
 * leases (see `jobs.rescueExpired`) and deletes rows of dead worker processes.
 */
import type { Sql, TxSql } from "../db.ts";
import { type Rescued, rescueExpired } from "./jobs.ts";
import { cleanupStale } from "./workers.ts";

/** The advisory lock key that makes the rescuer a singleton (any constant works). */
export const RESCUER_LOCK_KEY = 7_245_004; // 7_245_003 is the status-count compaction (migration 0002)

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
