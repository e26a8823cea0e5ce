/**
 * Notices of alert rules (see `alerts.ts`): which ones are owed, claimed for
 * delivery by compare-and-set so that one evaluator sends each, and the
 * outcome recorded (fenced on the claim).
 */
import type { Sql } from "../db.ts";
import { type Alert, cols } from "./alerts.ts";
import { at } from "./clock.ts";

/** A notice a rule owes, claimed for delivery by one evaluator. */
export interface Notice {
  alert: Alert;
  state: "firing" | "resolved";
  /** The firing it is about (its `firing_since`). */
  since: Date | null;
  /** The claim: the rule's `notify_until`, which fences {@link delivered} and {@link undelivered}. */
  claim: Date;
}

/**
 * Claims every notice owed (compare-and-set on `notify_until`, in one
 * statement), for `leaseSeconds` (after which a claim whose evaluator died
 * can be taken again): "firing" while a rule fires and the last notice
 * delivered was not about this firing; "resolved" when it no longer fires
 * and the last notice delivered was its "firing". A rule whose firing was
 * never notified owes no "resolved". Locks: the owed rows; a row another
 * evaluator is claiming is skipped (SKIP LOCKED), so each notice goes to one.
 */
export async function claimNotices(
  sql: Sql,
  opts: { leaseSeconds: number; now?: Date | null },
): Promise<Notice[]> {
  const t = at(sql, opts.now);
  const rows = await sql<(Alert & { claim: Date })[]>`
    WITH owed AS (
      SELECT id FROM alert
      WHERE (notify_until IS NULL OR notify_until <= ${t})
        AND ((firing_since IS NOT NULL AND (notified_state IS DISTINCT FROM 'firing'
                                           OR notified_since IS DISTINCT FROM firing_since))
          OR (firing_since IS NULL AND notified_state = 'firing'))
      ORDER BY id
      FOR UPDATE SKIP LOCKED
    )
    UPDATE alert a
    SET notify_until = date_trunc('milliseconds', ${t} + make_interval(secs => ${opts.leaseSeconds}))
    FROM owed WHERE a.id = owed.id
    RETURNING ${cols(sql)}, a.notify_until AS claim`;
  return rows.map(({ claim, ...a }) => ({
    alert: a,
    state: a.firing_since ? "firing" : "resolved",
    since: a.firing_since ?? a.notified_since,
    claim,
  }));
}

/**
 * Records a delivered notice and ends its claim; false when the claim was
 * no longer this evaluator's (then nothing changes).
 */
export async function delivered(
  sql: Sql,
  opts: { notice: Notice; now?: Date | null },
): Promise<boolean> {
  const n = opts.notice;
  // Primary key; fenced on the claim.
  const rows = await sql`
    UPDATE alert a SET notified_state = ${n.state}, notified_since = ${n.since},
      last_notified_at = ${at(sql, opts.now)}, notify_until = NULL, notify_error = NULL
    WHERE id = ${n.alert.id} AND notify_until = ${n.claim}
    RETURNING id`;
  return rows.length > 0;
}

/** Records a failed delivery (its reason) and releases the claim, so the next evaluation retries. */
export async function undelivered(
  sql: Sql,
  opts: { notice: Notice; error: string },
): Promise<boolean> {
  const n = opts.notice;
  // Primary key; fenced on the claim.
  const rows = await sql`
    UPDATE alert SET notify_until = NULL, notify_error = ${opts.error.slice(0, 2000)}
    WHERE id = ${n.alert.id} AND notify_until = ${n.claim}
    RETURNING id`;
  return rows.length > 0;
}
