/** Admin: deleting jobs with their events and artifact. */
import type { Sql } from "../db.ts";

/**
 * Deletes a job with its events and artifact, in any state but processing
 * (a running job is cancelled or finished first). Returns the deleted row's
 * id, or `null` when it was missing or processing.
 */
export async function remove(sql: Sql, opts: { id: string }): Promise<string | null> {
  const rows = await removeMany(sql, { ids: [opts.id] });
  return rows[0] ?? null;
}

/** Deletes many jobs as {@link remove} does, in one statement; returns the deleted ids. */
export async function removeMany(sql: Sql, opts: { ids: string[] }): Promise<string[]> {
  if (opts.ids.length === 0) return [];
  const rows = await sql<{ id: string }[]>`
    WITH del AS (
      DELETE FROM job WHERE id = ANY(${opts.ids}::uuid[]) AND status <> 'processing' RETURNING id
    ), ev AS (
      DELETE FROM job_event WHERE job_id IN (SELECT id FROM del)
    ), art AS (
      DELETE FROM job_artifact WHERE job_id IN (SELECT id FROM del)
    )
    SELECT id FROM del`;
  return rows.map((r) => r.id);
}
