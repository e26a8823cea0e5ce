/** Hot path: giving claimed jobs back on shutdown without counting the attempt. */
import type { Sql } from "../db.ts";
import { at } from "./clock.ts";

/**
 * Gives jobs back without counting the attempt (graceful stop): processing
 * → pending, attempts−1, due now, a `released` event each. Fenced per job.
 * A job whose cancel was requested ends `cancelled` instead (attempt kept,
 * a `cancelled` event). Returns the ids given back or cancelled.
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
      UPDATE job j SET
        status = CASE WHEN j.cancel_requested_at IS NULL THEN 'pending' ELSE 'cancelled' END,
        attempts = CASE WHEN j.cancel_requested_at IS NULL THEN j.attempts - 1 ELSE j.attempts END,
        scheduled_for = CASE WHEN j.cancel_requested_at IS NULL THEN ${t} ELSE j.scheduled_for END,
        updated_at = ${t}, locked_by = NULL, locked_until = NULL
      FROM input
      -- Held by the worker means processing (CHECK job_lease_iff_processing):
      -- no status test, which would let the planner read job_lease_idx whole.
      WHERE j.id = input.id AND j.attempts = input.attempt AND j.locked_by = ${opts.worker}
      RETURNING j.id, j.status, input.attempt
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker, message)
      SELECT id, ${t}, CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'released' END,
        attempt, ${opts.worker},
        CASE WHEN status = 'cancelled' THEN 'cancelled while running (it was being given back)'
          ELSE ${opts.reason ?? "given back on shutdown"} END
      FROM upd
    )
    SELECT id FROM upd`;
  return rows.map((r) => r.id);
}

/**
 * How many connections named `applicationName` are running a statement now
 * (a terminated runner's claim still committing: see {@link heldBy}).
 */
export async function statementsRunning(sql: Sql, applicationName: string): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE application_name = ${applicationName} AND state = 'active'`;
  return n;
}

/** The jobs `worker` holds (processing, locked by it), each with its attempt, for {@link release}. */
export async function heldBy(
  sql: Sql,
  worker: string,
): Promise<{ id: string; type: string; attempt: number }[]> {
  // Index: job_lease_idx (partial on processing).
  return await sql<{ id: string; type: string; attempt: number }[]>`
    SELECT id, type, attempts AS attempt FROM job
    WHERE status = 'processing' AND locked_by = ${worker}`;
}
