/** A handler's progress on its running job. */
import type { Sql } from "../db.ts";
import { at } from "./clock.ts";
import type { Fence } from "./complete.ts";

/** Longest progress message stored (characters); longer ones are cut. */
export const PROGRESS_MESSAGE_MAX = 200;

/**
 * Stores `{percent, message, at}` as the job's `progress` (at: the database
 * clock, ISO). Fenced like complete: only while the job is processing by
 * `worker` at `attempt`; returns false (nothing changes) otherwise. Leaves
 * `updated_at` alone (progress is not a state change); the value stays after
 * the job ends.
 */
export async function setProgress(
  sql: Sql,
  opts: Fence & { percent: number; message: string | null; now?: Date | null },
): Promise<boolean> {
  const t = at(sql, opts.now);
  // Locks: the one row, by primary key, only if still held by the caller.
  const rows = await sql`
    UPDATE job SET progress = jsonb_build_object(
      'percent', ${opts.percent}::float8,
      'message', ${opts.message}::text,
      'at', to_char(${t} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
    WHERE id = ${opts.id} AND status = 'processing' AND attempts = ${opts.attempt}
      AND locked_by = ${opts.worker}
    RETURNING id`;
  return rows.length > 0;
}
