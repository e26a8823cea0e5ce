/** Admin: cancelling a pending job by hand. */
import type { Sql } from "../db.ts";
import { at } from "./clock.ts";
import type { Job } from "./types.ts";

/**
 * Cancels a pending job (with its `cancelled` event). Returns the row, or
 * `null` when the job is missing or not pending (see {@link get} to tell).
 */
export async function cancel(
  sql: Sql,
  opts: { id: string; now?: Date | null },
): Promise<Job | null> {
  const t = at(sql, opts.now);
  const [row] = await sql<Job[]>`
    WITH upd AS (
      UPDATE job SET status = 'cancelled', updated_at = ${t}
      WHERE id = ${opts.id} AND status = 'pending'
      RETURNING *
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, message)
      SELECT id, ${t}, 'cancelled', attempts, 'cancelled by hand' FROM upd
    )
    SELECT * FROM upd`;
  return row ?? null;
}
