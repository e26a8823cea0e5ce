/**
 * Bulk actions, each one statement: over listed ids ({@link apply}), or over
 * every job the list's filters match ({@link applyMatching}).
 */
import type { Sql } from "../db.ts";
import { cancelCtes } from "./cancel.ts";
import { at } from "./clock.ts";
import { listOrder, type ListQuery, listWhere } from "./list.ts";
import { removeCtes } from "./remove.ts";
import { retryCtes } from "./retry.ts";
import type { JobStatus } from "./types.ts";

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
 * The CTEs of `action` over the locked targets `cur`: retry (failed or
 * cancelled → pending), cancel (pending → cancelled; processing → cancel
 * requested, still processing) or delete (anything but processing); each
 * leaves the other rows alone and names its rows `changed`.
 */
function actionCtes(sql: Sql, action: BulkAction, now: Date | null | undefined) {
  const t = at(sql, now);
  if (action === "cancel") return cancelCtes(sql, { t, note: "cancelled by hand (bulk)" });
  if (action === "retry") return retryCtes(sql, { t, note: "retried by hand (bulk, " });
  return removeCtes(sql);
}

/**
 * Applies `action` to every id in one statement and reports per id, in input
 * order (duplicates once): `done` with the status after (null when deleted;
 * `processing` for a running job whose cancel was requested),
 * `conflict` with the status that forbade it, or `not_found`.
 */
export async function apply(
  sql: Sql,
  opts: { action: BulkAction; ids: string[]; now?: Date | null },
): Promise<BulkOutcome[]> {
  const ids = [...new Set(opts.ids.map((i) => i.toLowerCase()))];
  if (ids.length === 0) return [];
  // Locks: every target row, by primary key, in id order (concurrent bulks cannot deadlock).
  const rows = await sql<{ id: string; found: JobStatus; status: JobStatus | null }[]>`
    WITH cur AS (
      SELECT id, status, attempts FROM job WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR UPDATE
    ), ${actionCtes(sql, opts.action, opts.now)}
    SELECT cur.id, cur.status AS found, changed.status FROM cur LEFT JOIN changed ON changed.id = cur.id`;
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id): BulkOutcome => {
    const r = byId.get(id);
    if (!r) return { id, outcome: "not_found", status: null };
    if (r.status === null) return { id, outcome: "conflict", status: r.found };
    return { id, outcome: "done", status: opts.action === "delete" ? null : r.status };
  });
}

/** What {@link applyMatching} did. */
export interface BulkMatchingResult {
  /** Jobs the action was applied to (at most `limit`). */
  matched: number;
  /** Of those, the ones it changed; the rest were left alone because of their status. */
  done: number;
  /** More than `limit` jobs matched: the ones after the first `limit` were not touched. */
  capped: boolean;
}

/**
 * Applies `action`, in one statement, to the first `limit` jobs (in the list's
 * order) matching the list's filters (`q`, `status`, `type`, `priority`;
 * `sort` and `order` pick which come first).
 */
export async function applyMatching(
  sql: Sql,
  opts: { action: BulkAction; filter: ListQuery; limit: number; now?: Date | null },
): Promise<BulkMatchingResult> {
  const order = listOrder(sql, opts.filter);
  // Picks in the list's order (served by the list's indexes), one row more
  // than `limit` to tell whether it is capped; then locks the picked rows
  // by primary key, in id order (concurrent bulks cannot deadlock).
  const [r] = await sql<BulkMatchingResult[]>`
    WITH pick AS (
      SELECT id, row_number() OVER (${order}) AS n FROM job ${listWhere(sql, opts.filter)}
      ${order} LIMIT ${opts.limit + 1}
    ), cur AS (
      SELECT id, status, attempts FROM job
      WHERE id IN (SELECT id FROM pick WHERE n <= ${opts.limit}) ORDER BY id FOR UPDATE
    ), ${actionCtes(sql, opts.action, opts.now)}
    SELECT (SELECT count(*) FROM cur)::int AS matched, (SELECT count(*) FROM changed)::int AS done,
      (SELECT count(*) FROM pick) > ${opts.limit} AS capped`;
  return r;
}
