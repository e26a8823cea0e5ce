/** Bulk actions over many job ids, in one transaction. */
import type { Sql, TxSql } from "../db.ts";
import { at } from "./clock.ts";
import type { JobStatus } from "./types.ts";
import { retryNote, retryScheduledFor } from "./retry.ts";

/** Actions a person can apply to selected jobs. */
export const BULK_ACTIONS = ["retry", "cancel", "delete"] as const;
export type BulkAction = typeof BULK_ACTIONS[number];

/** What happened to one id: done, not found, or left alone because of its status. */
export interface BulkOutcome {
  id: string;
  outcome: "done" | "not_found" | "conflict";
  status: JobStatus | null;
}

/**
 * Applies `action` to every id in one transaction (retry: failed/cancelled →
 * pending; cancel: pending → cancelled; delete: anything but processing) and
 * reports per id, in input order. Duplicate ids are reported once.
 */
export async function apply(
  sql: Sql,
  opts: { action: BulkAction; ids: string[]; now?: Date | null },
): Promise<BulkOutcome[]> {
  const ids = [...new Set(opts.ids.map((i) => i.toLowerCase()))];
  if (ids.length === 0) return [];
  const run = async (tx: TxSql) => {
    const t = at(tx, opts.now);
    // Lock every target row first (in id order, so concurrent bulks cannot deadlock).
    const before = await tx<{ id: string; status: JobStatus }[]>`
      SELECT id, status FROM job WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR UPDATE`;
    const statusOf = new Map(before.map((r) => [r.id, r.status]));
    let changed: string[] = [];
    if (opts.action === "cancel") {
      changed = (await tx<{ id: string }[]>`
        WITH upd AS (
          UPDATE job SET status = 'cancelled', updated_at = ${t}
          WHERE id = ANY(${ids}::uuid[]) AND status = 'pending' RETURNING id, attempts
        ), ev AS (
          INSERT INTO job_event (job_id, at, kind, attempt, message)
          SELECT id, ${t}, 'cancelled', attempts, 'cancelled by hand (bulk)' FROM upd
        ) SELECT id FROM upd`).map((r) => r.id);
    } else if (opts.action === "retry") {
      changed = (await tx<{ id: string }[]>`
        WITH prev AS (
          SELECT id, status, attempts FROM job WHERE id = ANY(${ids}::uuid[]) AND status IN ('failed', 'cancelled')
        ), upd AS (
          UPDATE job j SET status = 'pending', attempts = 0,
            scheduled_for = ${retryScheduledFor(tx, t)}, updated_at = ${t}
          FROM prev WHERE j.id = prev.id
          RETURNING j.id, j.scheduled_for, prev.status AS prev_status, prev.attempts AS prev_attempts
        ), ev AS (
          INSERT INTO job_event (job_id, at, kind, attempt, message)
          SELECT id, ${t}, 'retried', prev_attempts,
            'retried by hand (bulk, was ' || prev_status || ')' || ${retryNote(tx, t)} FROM upd
        ) SELECT id FROM upd`).map((r) => r.id);
    } else {
      changed = (await tx<{ id: string }[]>`
        WITH del AS (
          DELETE FROM job WHERE id = ANY(${ids}::uuid[]) AND status <> 'processing' RETURNING id
        ), ev AS (
          DELETE FROM job_event WHERE job_id IN (SELECT id FROM del)
        ), art AS (
          DELETE FROM job_artifact WHERE job_id IN (SELECT id FROM del)
        ) SELECT id FROM del`).map((r) => r.id);
    }
    const done = new Set(changed);
    const after = opts.action === "delete" ? new Map<string, JobStatus>() : new Map(
      (await tx<
        { id: string; status: JobStatus }[]
      >`SELECT id, status FROM job WHERE id = ANY(${ids}::uuid[])`)
        .map((r) => [r.id, r.status]),
    );
    return ids.map((id): BulkOutcome => {
      if (!statusOf.has(id)) return { id, outcome: "not_found", status: null };
      if (done.has(id)) return { id, outcome: "done", status: after.get(id) ?? null };
      return { id, outcome: "conflict", status: statusOf.get(id)! };
    });
  };
  return "begin" in sql
    ? await (sql as Sql).begin((tx) => run(tx)) as BulkOutcome[]
    : await run(sql as unknown as TxSql);
}
