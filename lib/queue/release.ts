/** Hot path: giving claimed jobs back on shutdown without counting the attempt. */
import type { Sql } from "../db.ts";
import { at } from "./clock.ts";

/**
 * Gives jobs back without counting the attempt (graceful stop): processing
 * → pending, attempts−1, due now, a `released` event each. Fenced per job.
 * Returns the ids given back.
 */
export async function release(sql: Sql, opts: {
  worker: string;
  items: { id: string; attempt: number }[];
  reason?: string;
  now?: Date | null;
}): Promise<string[]> {
  if (opts.items.length === 0) return [];
  const t = at(sql, opts.now);
  const rows = await sql<{ id: string }[]>`
    WITH input AS (
      SELECT (e->>'id')::uuid AS id, (e->>'attempt')::int AS attempt
      FROM jsonb_array_elements(${sql.json(opts.items as never)}) AS e
    ), upd AS (
      UPDATE job j SET status = 'pending', attempts = j.attempts - 1, scheduled_for = ${t}, updated_at = ${t},
        locked_by = NULL, locked_until = NULL
      FROM input
      WHERE j.id = input.id AND j.status = 'processing' AND j.attempts = input.attempt AND j.locked_by = ${opts.worker}
      RETURNING j.id, input.attempt
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker, message)
      SELECT id, ${t}, 'released', attempt, ${opts.worker}, ${
    opts.reason ?? "given back on shutdown"
  } FROM upd
    )
    SELECT id FROM upd`;
  return rows.map((r) => r.id);
}
