/**
 * Undo of a bulk cancel or retry (migration 0011): the offer made in the
 * action's transactions ({@link openUndo}, {@link closeUndo}; its rows are
 * written by the action's batches), and {@link undo}, which puts back the
 * jobs nobody has touched since.
 */
import { retryDeadlock, type Sql, type TxSql } from "../db.ts";
import { type Actor, byline, record } from "./audit.ts";
import { at, type Instant } from "./clock.ts";

/** Jobs changed per transaction by an action by filter, and restored per transaction by an undo. */
export const BULK_BATCH = 2000;

/** How long after a bulk cancel or retry it can be undone. */
export const UNDO_SECONDS = 60;

/** An undo on offer: its id and when the offer ends. */
export interface UndoOffer {
  id: string;
  expires_at: Date;
}

/** Deletes undo offers that expired unused, and used ones an hour on (an undo that died midway). */
export async function pruneUndo(tx: Sql | TxSql, t: Instant) {
  await tx`DELETE FROM bulk_undo
    WHERE (used_at IS NULL AND expires_at <= ${t}) OR expires_at <= ${t} - interval '1 hour'`;
}

/** Opens an undo offer (its rows are added by the action's batches, lib/queue/bulk.ts). */
export async function openUndo(
  tx: Sql | TxSql,
  id: string,
  action: "cancel" | "retry" | "delete",
  actor: Actor | null,
  t: Instant,
) {
  await tx`INSERT INTO bulk_undo (id, action, actor, created_at, expires_at)
    VALUES (${id}, ${action}, ${actor?.name ?? "system"}, ${t},
      ${t} + make_interval(secs => ${UNDO_SECONDS}))`;
}

/** Ends the set-up of an offer: dropped when no job can be put back, else open for a minute from `t`. */
export async function closeUndo(
  tx: Sql | TxSql,
  id: string,
  saved: number,
  t: Instant,
): Promise<UndoOffer | null> {
  if (saved === 0) {
    await tx`DELETE FROM bulk_undo WHERE id = ${id}`;
    return null;
  }
  const [row] = await tx<UndoOffer[]>`UPDATE bulk_undo
    SET expires_at = ${t} + make_interval(secs => ${UNDO_SECONDS}) WHERE id = ${id}
    RETURNING id, expires_at`;
  return row;
}

/** What {@link undo} did. */
export interface UndoResult {
  /** The action undone. */
  action: "cancel" | "retry";
  /** Jobs put back as they were before the action. */
  restored: number;
  /** Jobs left alone: changed since the action (claimed, finished, retried, deleted…), or a job holding its unique_key took its place. */
  moved_on: number;
}

/**
 * Takes back a bulk cancel or retry within {@link UNDO_SECONDS}: each job
 * whose row has not changed since the action (same xmin) gets back its
 * previous status, attempts, scheduled_for and updated_at, with a `restored`
 * event; the others are left alone and counted. Returns null when there is
 * no such offer (expired, already used, or never made). Runs once: the offer
 * is taken first, then the jobs are restored in batches of {@link BULK_BATCH}
 * per transaction, locked in id order; the `bulk.undo` audit entry goes in
 * the last batch's transaction.
 */
export async function undo(
  sql: Sql,
  opts: { id: string; now?: Date | null; actor?: Actor | null },
): Promise<UndoResult | null> {
  const taken = await sql.begin(async (tx: TxSql) => {
    const t = at(tx, opts.now);
    await pruneUndo(tx, t);
    const [offer] = await tx<{ action: "cancel" | "retry" }[]>`UPDATE bulk_undo SET used_at = ${t}
      WHERE id = ${opts.id} AND used_at IS NULL AND expires_at > ${t} RETURNING action`;
    if (!offer) return null;
    const [{ n }] = await tx<{ n: number }[]>`SELECT count(*)::int AS n FROM bulk_undo_job
      WHERE undo_id = ${opts.id}`;
    return { action: offer.action, total: n };
  });
  if (!taken) return null;
  const { action, total } = taken;
  const by = opts.actor ? ` ${byline(opts.actor)}` : "";
  // Batches straight from the offer's rows (each batch deletes the ones it
  // restores, in job id order): nothing but the counts is held here.
  let restored = 0, last = false;
  while (!last) {
    // A batch deadlocked with a worker (whose completions wait while it
    // holds the jobs its claim in the same statement took) is run again.
    const r = await retryDeadlock(() =>
      sql.begin(async (tx: TxSql) => {
        const t = at(tx, opts.now);
        const [r] = await tx<{ restored: number; taken: number }[]>`
          WITH u AS (
            DELETE FROM bulk_undo_job WHERE undo_id = ${opts.id} AND job_id IN (
              SELECT job_id FROM bulk_undo_job WHERE undo_id = ${opts.id}
              ORDER BY job_id LIMIT ${BULK_BATCH})
            RETURNING *
          ), cur AS (
            SELECT id FROM job WHERE id IN (SELECT job_id FROM u) ORDER BY id FOR UPDATE
          ), back AS (
            UPDATE job j SET status = u.prev_status, attempts = u.prev_attempts,
              scheduled_for = u.prev_scheduled_for, updated_at = u.prev_updated_at
            FROM u WHERE j.id = u.job_id AND j.id IN (SELECT id FROM cur)
              AND j.xmin::text::bigint = u.version
              AND (u.prev_status <> 'pending' OR j.unique_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM job o WHERE o.unique_key = j.unique_key AND o.id <> j.id
                  AND o.status IN ('pending', 'processing')))
            RETURNING j.id, j.attempts, u.prev_status
          ), ev AS (
            INSERT INTO job_event (job_id, at, kind, attempt, message)
            SELECT id, ${t}, 'restored', attempts,
              ${`undo of a bulk ${action}${by}: back to `} || prev_status
            FROM back
          )
          SELECT (SELECT count(*) FROM back)::int AS restored, (SELECT count(*) FROM u)::int AS taken`;
        if (r.taken >= BULK_BATCH) return r;
        await tx`DELETE FROM bulk_undo WHERE id = ${opts.id}`;
        if (opts.actor) {
          await record(tx, {
            actor: opts.actor,
            action: "bulk.undo",
            count: restored + r.restored,
            details: {
              undo_id: opts.id,
              of: `bulk.${action}`,
              moved_on: total - restored - r.restored,
            },
            now: opts.now,
          });
        }
        return r;
      })
    );
    restored += r.restored;
    last = r.taken < BULK_BATCH;
  }
  return { action, restored, moved_on: total - restored };
}
