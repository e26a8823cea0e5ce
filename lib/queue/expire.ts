/**
 * Deadlines: a pending job whose `expires_at` has passed is never run (the
 * claim passes it over); the expirer ends it `cancelled` with an `expired`
 * event, one process in the cluster at a time ({@link expirePass}).
 */
import type { Sql, TxSql } from "../db.ts";
import { at } from "./clock.ts";
import { EXPIRER_LOCK_KEY } from "./lock_keys.ts";

/** A job the expirer cancelled. */
export interface Expired {
  id: string;
  type: string;
  expires_at: Date;
}

/**
 * Cancels up to `limit` pending jobs whose `expires_at` is at or before now,
 * each with an `expired` event, and returns them. Locks: the chosen rows
 * (FOR UPDATE SKIP LOCKED: a row a claimer or an admin holds is passed over;
 * the update re-checks it is still pending). Index: job_expires_idx (partial
 * on pending jobs with a deadline, by expires_at).
 */
export async function expireDue(
  sql: Sql | TxSql,
  opts: { limit?: number; now?: Date | null } = {},
): Promise<Expired[]> {
  const t = at(sql, opts.now);
  return await sql<Expired[]>`
    WITH due AS (
      SELECT id FROM job
      WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= ${t}
      ORDER BY expires_at
      LIMIT ${opts.limit ?? 1000}
      FOR UPDATE SKIP LOCKED
    ), upd AS (
      UPDATE job j SET status = 'cancelled', updated_at = ${t}
      FROM due WHERE j.id = due.id AND j.status = 'pending'
      RETURNING j.id, j.type, j.expires_at, j.attempts
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, message)
      SELECT id, ${t}, 'expired', attempts,
        'not started by its deadline ' ||
          to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC; cancelled'
      FROM upd
    )
    SELECT id, type, expires_at FROM upd`;
}

/**
 * One expirer pass in its own transaction: takes the expirer's advisory
 * lock without waiting (another process holding it: this pass does nothing,
 * `ran: false`), then {@link expireDue}. The lock ends with the transaction.
 */
export async function expirePass(
  sql: Sql,
  opts: { limit?: number; now?: Date | null } = {},
): Promise<{ ran: boolean; expired: Expired[] }> {
  return await sql.begin(async (tx: TxSql) => {
    const [{ ok }] = await tx<{ ok: boolean }[]>`
      SELECT pg_try_advisory_xact_lock(${EXPIRER_LOCK_KEY}) AS ok`;
    if (!ok) return { ran: false, expired: [] };
    return { ran: true, expired: await expireDue(tx, opts) };
  }) as { ran: boolean; expired: Expired[] };
}
