/**
 * Bulk actions: over listed ids ({@link applyIds}, one transaction), or over
 * every job the list's filters match ({@link applyFilter}: the matching ids
 * are taken at one moment, then changed in batches of {@link BULK_BATCH} per
 * transaction), with a dry run ({@link countFilter}) and, for a minute after
 * a cancel or retry, an undo ({@link undo}; migration 0011).
 */
import { retryDeadlock, type Sql, type TxSql } from "../db.ts";
import { type Actor, byline, record } from "./audit.ts";
import { cancelCtes } from "./cancel.ts";
import { at, type Instant } from "./clock.ts";
import { listOrder, type ListQuery, listWhere } from "./list.ts";
import { removeCtes } from "./remove.ts";
import { retryCtes } from "./retry.ts";
import type { JobStatus } from "./types.ts";
import { BULK_BATCH, closeUndo, openUndo, pruneUndo, type UndoOffer } from "./bulk_undo.ts";

export { BULK_BATCH, undo, UNDO_SECONDS, type UndoOffer, type UndoResult } from "./bulk_undo.ts";

/** Actions a person can apply to selected jobs. */
export const BULK_ACTIONS = ["retry", "cancel", "delete"] as const;
export type BulkAction = typeof BULK_ACTIONS[number];

/** The list filters an action by filter takes (no order or page: it covers every match). */
export type BulkFilter = Pick<ListQuery, "status" | "type" | "priority" | "queue" | "q">;

/** What one id became: done, not found, or left alone because of its status. */
export interface BulkOutcome {
  id: string;
  outcome: "done" | "not_found" | "conflict";
  status: JobStatus | null;
}

/** True when the filter names nothing (it would match every job). */
export function isEmptyFilter(f: BulkFilter): boolean {
  return !f.status?.length && !f.type?.length && !f.priority?.length && !f.queue?.length &&
    !f.q?.trim();
}

/** The statuses an action can change: the rest of the matching jobs are left alone. */
function actionable(sql: Sql | TxSql, action: BulkAction) {
  if (action === "retry") return sql`status IN ('failed', 'cancelled')`;
  if (action === "cancel") return sql`status IN ('pending', 'processing')`;
  return sql`status <> 'processing'`;
}

/**
 * The CTEs of `action` over the locked targets `cur`: retry (failed or
 * cancelled → pending), cancel (pending → cancelled; processing → cancel
 * requested, still processing) or delete (anything but processing); each
 * leaves the other rows alone and names its rows `changed`. Timeline events
 * name the actor when there is one.
 */
function actionCtes(sql: Sql | TxSql, action: BulkAction, t: Instant, actor?: Actor | null) {
  const by = actor ? ` ${byline(actor)}` : "";
  if (action === "cancel") return cancelCtes(sql, { t, note: `cancelled by hand (bulk)${by}` });
  if (action === "retry") {
    return retryCtes(sql, {
      t,
      note: actor ? `retried by hand (bulk${by}; ` : "retried by hand (bulk, ",
    });
  }
  return removeCtes(sql);
}

/**
 * One statement over `ids` (a batch): locks the rows by primary key in id
 * order (concurrent bulks and undos take them in that order, so none wait
 * for each other in a cycle; a runner's completions sent with its next claim
 * wait for their rows while holding the rows the claim took, so a cycle with
 * one can form: PostgreSQL aborts one side, and the callers run an aborted
 * batch again with `retryDeadlock`), applies the action (each row's status
 * re-checked under its lock) and, with `undoId`, keeps each changed row's
 * previous state for {@link undo}: a cancelled pending job or a retried job
 * (a running job whose cancel was requested cannot be taken back: its worker
 * was told to stop). `version` is the row's xmin after this statement, the
 * transaction's own xid (no savepoints here), so any later change shows.
 */
async function applyBatch(
  tx: Sql | TxSql,
  opts: {
    action: BulkAction;
    ids: string[];
    t: Instant;
    actor?: Actor | null;
    undoId: string | null;
  },
) {
  const save = opts.undoId
    ? tx`, saved AS (
        INSERT INTO bulk_undo_job (undo_id, job_id, version, prev_status, prev_attempts,
          prev_scheduled_for, prev_updated_at)
        SELECT ${opts.undoId}::uuid, cur.id, pg_current_xact_id()::text::bigint % 4294967296,
          cur.status, cur.attempts, cur.was_scheduled_for, cur.was_updated_at
        FROM changed JOIN cur ON cur.id = changed.id WHERE changed.status <> 'processing'
        RETURNING 1
      )`
    : tx``;
  const counted = opts.undoId ? tx`(SELECT count(*) FROM saved)::int` : tx`0`;
  return await tx<{ id: string; found: JobStatus; status: JobStatus | null; saved: number }[]>`
    WITH cur AS (
      SELECT id, status, attempts, scheduled_for AS was_scheduled_for,
        updated_at AS was_updated_at FROM job
      WHERE id = ANY(${opts.ids}::uuid[]) ORDER BY id FOR UPDATE
    ), ${actionCtes(tx, opts.action, opts.t, opts.actor)}${save}
    SELECT cur.id, cur.status AS found, changed.status, ${counted} AS saved
    FROM cur LEFT JOIN changed ON changed.id = cur.id`;
}

/** What {@link applyIds} did. */
export interface BulkIdsResult {
  results: BulkOutcome[];
  undo: UndoOffer | null;
}

/**
 * Applies `action` to every id in one transaction and reports per id, in
 * input order (duplicates once): `done` with the status after (null when
 * deleted; `processing` for a running job whose cancel was requested),
 * `conflict` with the status that forbade it, or `not_found`. With an
 * `actor`, a `bulk.<action>` audit entry (the ids, the count changed) is
 * written in the same transaction. A cancel or retry that changed a job
 * offers an undo for {@link UNDO_SECONDS}.
 */
export async function applyIds(
  sql: Sql,
  opts: { action: BulkAction; ids: string[]; now?: Date | null; actor?: Actor | null },
): Promise<BulkIdsResult> {
  const ids = [...new Set(opts.ids.map((i) => i.toLowerCase()))];
  if (ids.length === 0) return { results: [], undo: null };
  const undoId = opts.action === "delete" ? null : crypto.randomUUID();
  // A transaction PostgreSQL aborts as a deadlock victim is run again (see
  // {@link applyBatch}): it changed nothing.
  const { rows, undo } = await retryDeadlock(() =>
    sql.begin(async (tx: TxSql) => {
      const t = at(tx, opts.now);
      let undo: UndoOffer | null = null;
      if (undoId) {
        await pruneUndo(tx, t);
        await openUndo(tx, undoId, opts.action, opts.actor ?? null, t);
      }
      const rows = await applyBatch(tx, { ...opts, ids, t, undoId });
      if (undoId) undo = await closeUndo(tx, undoId, rows[0]?.saved ?? 0, t);
      if (opts.actor) {
        await record(tx, {
          actor: opts.actor,
          action: `bulk.${opts.action}`,
          jobIds: ids,
          count: rows.filter((r) => r.status !== null).length,
          details: undo ? { undo_id: undo.id } : {},
          now: opts.now,
        });
      }
      return { rows, undo };
    })
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const results = ids.map((id): BulkOutcome => {
    const r = byId.get(id);
    if (!r) return { id, outcome: "not_found", status: null };
    if (r.status === null) return { id, outcome: "conflict", status: r.found };
    return { id, outcome: "done", status: opts.action === "delete" ? null : r.status };
  });
  return { results, undo };
}

/** {@link applyIds}, reporting only the outcome of each id. */
export async function apply(
  sql: Sql,
  opts: { action: BulkAction; ids: string[]; now?: Date | null; actor?: Actor | null },
): Promise<BulkOutcome[]> {
  return (await applyIds(sql, opts)).results;
}

/** The jobs an action by filter would change now: matching `filter`, in a status the action applies to. */
function matchingIds(sql: Sql | TxSql, action: BulkAction, filter: BulkFilter) {
  return sql`SELECT id FROM job ${listWhere(sql, filter)}
    ${isEmptyFilter(filter) ? sql`WHERE` : sql`AND`} ${actionable(sql, action)}`;
}

/** The dry run of {@link applyFilter}: how many jobs it would change now (nothing changes). */
export async function countFilter(
  sql: Sql,
  opts: { action: BulkAction; filter: BulkFilter },
): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM (${matchingIds(sql, opts.action, opts.filter)}) m`;
  return n;
}

/** What {@link applyFilter} did. */
export interface BulkFilterResult {
  /** Jobs that matched (and were in a status the action applies to) when it started. */
  matched: number;
  /** Of those, the ones it changed. */
  count: number;
  /** Matched but left alone: they moved on (finished, retried, deleted…) before their batch. */
  skipped: number;
  undo: UndoOffer | null;
}

/**
 * Applies `action` to exactly the jobs that match `filter` (and are in a
 * status it applies to) at the moment it starts: their ids are read first
 * (sorted), then changed in batches of `batch` per transaction, each row's
 * status re-checked under its lock (one that moved on since is skipped; one
 * that starts matching later is not touched). With an `actor`, one
 * `bulk.<action>` audit entry (the filter and the count changed) is written
 * in the LAST batch's transaction, where the count is known (a bulk that
 * matches nothing writes it alone, with count 0); the timeline event of every
 * changed job names the actor too. A cancel or retry offers an undo for
 * {@link UNDO_SECONDS} from its end.
 */
export async function applyFilter(
  sql: Sql,
  opts: {
    action: BulkAction;
    filter: BulkFilter;
    now?: Date | null;
    actor?: Actor | null;
    batch?: number;
  },
): Promise<BulkFilterResult> {
  const size = Math.max(1, opts.batch ?? BULK_BATCH);
  // The snapshot of matching ids, read through a cursor a batch at a time and
  // kept packed (16 bytes an id): a million matching jobs hold 16 MB, not the
  // ~100 MB of a million id strings.
  const packed: Uint8Array[] = [];
  let matched = 0;
  await sql<{ id: string }[]>`${matchingIds(sql, opts.action, opts.filter)} ORDER BY id`
    .cursor(size, (rows: { id: string }[]) => {
      packed.push(packIds(rows.map((r) => r.id)));
      matched += rows.length;
    });
  const batches = packed.length > 0 ? packed : [new Uint8Array(0)];
  const undoId = opts.action === "delete" ? null : crypto.randomUUID();
  let count = 0, saved = 0, undo: UndoOffer | null = null;
  for (const [i, chunk] of batches.entries()) {
    const last = i === batches.length - 1;
    const batchIds = unpackIds(chunk);
    batches[i] = new Uint8Array(0);
    // A batch PostgreSQL aborts as a deadlock victim is run again (see
    // {@link applyBatch}): it changed nothing, so its counts are added only
    // once it commits.
    const done = await retryDeadlock(() =>
      sql.begin(async (tx: TxSql) => {
        const t = at(tx, opts.now);
        if (i === 0 && undoId) {
          await pruneUndo(tx, t);
          await openUndo(tx, undoId, opts.action, opts.actor ?? null, t);
        }
        let changed = 0, kept = 0, offer: UndoOffer | null = null;
        if (batchIds.length > 0) {
          const rows = await applyBatch(tx, { ...opts, ids: batchIds, t, undoId });
          changed = rows.filter((r) => r.status !== null).length;
          kept = rows[0]?.saved ?? 0;
        }
        if (!last) return { changed, kept, offer };
        if (undoId) offer = await closeUndo(tx, undoId, saved + kept, t);
        if (opts.actor) {
          await record(tx, {
            actor: opts.actor,
            action: `bulk.${opts.action}`,
            filter: filterRecord(opts.filter),
            count: count + changed,
            details: { matched, ...(offer ? { undo_id: offer.id } : {}) },
            now: opts.now,
          });
        }
        return { changed, kept, offer };
      }) as Promise<{ changed: number; kept: number; offer: UndoOffer | null }>
    );
    count += done.changed;
    saved += done.kept;
    if (done.offer) undo = done.offer;
  }
  return { matched, count, skipped: matched - count, undo };
}

/** UUIDs as 16 bytes each. */
function packIds(ids: string[]): Uint8Array {
  const out = new Uint8Array(ids.length * 16);
  ids.forEach((id, i) => {
    const hex = id.replaceAll("-", "");
    for (let b = 0; b < 16; b++) out[i * 16 + b] = parseInt(hex.slice(b * 2, b * 2 + 2), 16);
  });
  return out;
}

/** The UUIDs {@link packIds} packed. */
function unpackIds(bytes: Uint8Array): string[] {
  const ids: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const hex = [...bytes.subarray(i, i + 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
    ids.push(
      `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
        hex.slice(20)
      }`,
    );
  }
  return ids;
}

/** The filter as the audit log keeps it: the fields that were given. */
function filterRecord(f: BulkFilter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ["status", "type", "priority", "queue"] as const) if (f[k]?.length) out[k] = f[k];
  if (f.q?.trim()) out.q = f.q.trim();
  return out;
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
 * `sort` and `order` pick which come first). No undo, no audit entry: the
 * console and the API use {@link applyFilter}.
 */
export async function applyMatching(
  sql: Sql,
  opts: { action: BulkAction; filter: ListQuery; limit: number; now?: Date | null },
): Promise<BulkMatchingResult> {
  const order = listOrder(sql, opts.filter);
  // Picks in the list's order (served by the list's indexes), one row more
  // than `limit` to tell whether it is capped; then locks the picked rows
  // by primary key, in id order (concurrent bulks cannot deadlock).
  // One statement: run again when PostgreSQL aborts it as a deadlock victim.
  const [r] = await retryDeadlock(() =>
    sql<BulkMatchingResult[]>`
    WITH pick AS (
      SELECT id, row_number() OVER (${order}) AS n FROM job ${listWhere(sql, opts.filter)}
      ${order} LIMIT ${opts.limit + 1}
    ), cur AS (
      SELECT id, status, attempts FROM job
      WHERE id IN (SELECT id FROM pick WHERE n <= ${opts.limit}) ORDER BY id FOR UPDATE
    ), ${actionCtes(sql, opts.action, at(sql, opts.now))}
    SELECT (SELECT count(*) FROM cur)::int AS matched, (SELECT count(*) FROM changed)::int AS done,
      (SELECT count(*) FROM pick) > ${opts.limit} AS capped`
  );
  return r;
}
