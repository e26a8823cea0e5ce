/** Hot path: renewing the leases a worker holds. */
import type { Sql } from "../db.ts";
import { at } from "./clock.ts";

/**
 * Extends the lease of the listed jobs still held by `worker` to now +
 * `leaseSeconds`. Returns the ids extended: a missing id was lost, or was
 * locked by a write of its holder at that moment (skipped, never waited for).
 */
export async function extendLease(sql: Sql, opts: {
  worker: string;
  ids: string[];
  leaseSeconds: number;
  now?: Date | null;
}): Promise<string[]> {
  return (await renewLeases(sql, opts)).ids;
}

/**
 * {@link extendLease}, also saying which jobs to stop: `cancel` lists those of them whose cancel was requested (the worker's
 * periodic check, for a `NOTIFY jobq_cancel` it missed).
 */
export async function renewLeases(sql: Sql, opts: {
  worker: string;
  ids: string[];
  leaseSeconds: number;
  now?: Date | null;
}): Promise<{ ids: string[]; cancel: string[] }> {
  if (opts.ids.length === 0) return { ids: [], cancel: [] };
  const t = at(sql, opts.now);
  // Primary key lookups; never touches rows of other workers. Held by the
  // worker means processing (CHECK job_lease_iff_processing): no status test,
  // which would let the planner read the partial job_lease_idx whole (every
  // processing job) when its statistics are from before a burst. Locks: the
  // rows, in id order, SKIP LOCKED: a row locked now is being completed,
  // failed or given back by its runner (whose multi-row completeMany locks
  // the same rows in another order — waiting here deadlocked with it), so it
  // needs no renewal; if that write rolls back, the next renewal (lease/3
  // later) extends it.
  const rows = await sql<{ id: string; cancel: boolean }[]>`
    WITH held AS (
      SELECT id FROM job
      WHERE id = ANY(${opts.ids}::uuid[]) AND locked_by = ${opts.worker}
      ORDER BY id
      FOR UPDATE SKIP LOCKED
    )
    UPDATE job j SET locked_until = ${t} + make_interval(secs => ${opts.leaseSeconds})
    FROM held WHERE j.id = held.id
    RETURNING j.id, j.cancel_requested_at IS NOT NULL AS cancel`;
  return { ids: rows.map((r) => r.id), cancel: rows.filter((r) => r.cancel).map((r) => r.id) };
}
