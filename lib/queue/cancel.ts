/** Admin: cancelling jobs by hand (a pending one at once, a running one by request). */
import type { Sql, TxSql } from "../db.ts";
import { at, type Instant } from "./clock.ts";
import { changeOne } from "./guard.ts";
import { CHANNEL_CANCEL } from "./notify.ts";
import { ConflictError, type Job } from "./types.ts";
import { type Actor, byline, record } from "./audit.ts";

/**
 * The CTEs `changed` and `ev` over a CTE `cur (id, status, attempts)` of
 * target rows the statement has already locked: pending rows become
 * `cancelled` (with a `cancelled` event carrying `note`); processing rows get
 * `cancel_requested_at` (kept when already set) and a `NOTIFY jobq_cancel`
 * with their id, so the worker process running each aborts its handler (the
 * job ends `cancelled` when the handler stops, see complete.ts and fail.ts).
 * `changed` holds both kinds (a running one still `processing`); other rows
 * are left alone.
 */
export function cancelCtes(sql: Sql | TxSql, opts: { t: Instant; note: string }) {
  return sql`pend AS (
      UPDATE job j SET status = 'cancelled', updated_at = ${opts.t}
      FROM cur WHERE j.id = cur.id AND j.status = 'pending'
      RETURNING j.*
    ), run AS (
      UPDATE job j SET cancel_requested_at = coalesce(j.cancel_requested_at, ${opts.t}),
        updated_at = ${opts.t}
      FROM cur WHERE j.id = cur.id AND j.status = 'processing'
      RETURNING j.*
    ), changed AS (
      SELECT * FROM pend
      UNION ALL
      -- pg_notify is volatile: evaluated once per running row, never pruned.
      SELECT run.* FROM run CROSS JOIN LATERAL (
        SELECT pg_notify(${CHANNEL_CANCEL}, run.id::text) AS sent
      ) n
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, message)
      SELECT id, ${opts.t}, 'cancelled', attempts, ${opts.note} FROM pend
    )`;
}

/**
 * Cancels a job by hand. A pending job ends `cancelled` at once (with its
 * `cancelled` event); a processing one gets `cancel_requested_at` and its
 * worker is notified (the row comes back still `processing`: it ends
 * `cancelled` when its handler stops; asking again changes nothing but
 * notifies again). Throws `NotFoundError("job_not_found")` when there is no
 * such job and `ConflictError("job_not_pending")` when it has ended
 * (nothing changes). With an `actor` (an operator's request), the event
 * names them and a `job.cancel` audit entry is written in the same
 * transaction (none when nothing changed).
 */
export async function cancel(
  sql: Sql,
  opts: { id: string; now?: Date | null; actor?: Actor | null },
): Promise<Job> {
  const actor = opts.actor;
  const run = (tx: Sql | TxSql) =>
    changeOne(tx, {
      id: opts.id,
      ctes: cancelCtes(tx, {
        t: at(tx as Sql, opts.now),
        note: actor ? `cancelled by hand ${byline(actor)}` : "cancelled by hand",
      }),
      conflict: (status) =>
        new ConflictError(
          "job_not_pending",
          `only a pending or running job can be cancelled; this one is ${status}`,
        ),
    });
  if (!actor) return await run(sql);
  return await sql.begin(async (tx: TxSql) => {
    const job = await run(tx);
    await record(tx, {
      actor,
      action: "job.cancel",
      jobIds: [job.id],
      count: 1,
      details: { type: job.type, was: job.status === "processing" ? "processing" : "pending" },
      now: opts.now,
    });
    return job;
  }) as Job;
}
