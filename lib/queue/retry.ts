/** Admin: retrying failed or cancelled jobs by hand, as they were or edited. */
import { z } from "zod";
import type { Sql, TxSql } from "../db.ts";
import { JOB_TYPES } from "../jobs/mod.ts";
import { type Actor, byline, record } from "./audit.ts";
import { at, type Instant } from "./clock.ts";
import { changeOne, jobNotFound } from "./guard.ts";
import { ConflictError, type Job, type JobStatus } from "./types.ts";

/**
 * When a job retried by hand runs (in `UPDATE job j … FROM cur AS prev`,
 * `prev` holding the old status): a cancelled job whose `scheduled_for` is
 * still after `t` keeps its schedule (it was cancelled before it was due, so
 * running it early would surprise); any other job is due at `t`.
 */
function retryScheduledFor(sql: Sql | TxSql, t: Instant) {
  return sql`CASE WHEN prev.status = 'cancelled' AND j.scheduled_for > ${t}
    THEN j.scheduled_for ELSE ${t} END`;
}

/** The `retried` event's note on a kept schedule (over the updated row), else ''. */
function retryNote(sql: Sql | TxSql, t: Instant) {
  return sql`CASE WHEN scheduled_for > ${t} THEN '; keeps its schedule: due '
    || to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' ELSE '' END`;
}

/**
 * The CTEs `changed` (the retried rows) and `ev` (their `retried` events:
 * `<note>was <old status>)`, plus a kept schedule) over a CTE
 * `cur (id, status, attempts)` of target rows the statement has already
 * locked. Rows neither failed nor cancelled are left alone, and so is a job
 * whose `unique_key` a pending or processing job holds (index:
 * job_unique_active_idx) or another target with the same key retries (of
 * several, only the first by id goes back to pending).
 */
export function retryCtes(sql: Sql | TxSql, opts: { t: Instant; note: string }) {
  const t = opts.t;
  return sql`changed AS (
      UPDATE job j SET status = 'pending', attempts = 0, scheduled_for = ${
    retryScheduledFor(sql, t)
  },
        updated_at = ${t}
      FROM cur AS prev WHERE j.id = prev.id AND j.status IN ('failed', 'cancelled')
        AND (j.unique_key IS NULL OR (NOT EXISTS (
          SELECT 1 FROM job o WHERE o.unique_key = j.unique_key AND o.unique_key IS NOT NULL
            AND o.status IN ('pending', 'processing'))
          AND j.id = (SELECT o.id FROM cur c JOIN job o ON o.id = c.id
            WHERE o.unique_key = j.unique_key AND o.status IN ('failed', 'cancelled')
            ORDER BY o.id LIMIT 1)))
      RETURNING j.*
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, message)
      SELECT changed.id, ${t}, 'retried', prev.attempts,
        ${opts.note} || 'was ' || prev.status || ')' || ${retryNote(sql, t)}
      FROM changed JOIN cur AS prev ON prev.id = changed.id
    )`;
}

/** What an edit and retry may change; an absent field is kept. */
export interface RetryEdit {
  /** The new payload, checked with the job type's schema (as on create). */
  payload?: Record<string, unknown>;
  priority?: number;
  queue?: string;
}

/** The fields an edit can change, in the order messages name them. */
const EDITABLE = ["payload", "priority", "queue"] as const;
type Editable = typeof EDITABLE[number];

/** The options of {@link retry}. */
export interface RetryOptions {
  id: string;
  /** The statement's clock (tests); null: the database's. */
  now?: Date | null;
  /** Who retries: an audit row (`job.retry`, or `job.edit` with changes) and the events' byline. */
  actor?: Actor | null;
  /** What to change first; fields equal to the job's are no change. */
  edit?: RetryEdit | null;
}

const notRetryable = (status: JobStatus) =>
  new ConflictError(
    "job_not_retryable",
    `only a failed or cancelled job can be retried; this one is ${status}`,
  );

const conflictOf = (status: JobStatus) =>
  status === "failed" || status === "cancelled"
    ? new ConflictError(
      "unique_key_taken",
      "a pending or processing job holds this job's unique_key; retry it once that one finishes",
    )
    : notRetryable(status);

/**
 * Retries by hand: a failed or cancelled job goes back to pending with its
 * attempts reset (a fresh set of tries) and a `retried` event. It is due now,
 * except a cancelled job still scheduled for later, which keeps its schedule
 * (the event says so).
 *
 * With `edit`, in one transaction and in this order: the job is locked and
 * must be failed or cancelled; the new payload must pass its type's schema
 * (else the `ZodError`, issue paths under `payload.`); the fields that differ
 * from the job's are written with an `edited` event whose `data` keeps the
 * previous payload, priority and queue (`{changed, previous}`); then the
 * retry as above. An edit that changes nothing is a plain retry. With
 * `actor`, the events name who did it and an audit row (`job.edit` with its
 * previous and new values, or `job.retry`) commits with the change.
 *
 * Returns the row; throws `NotFoundError("job_not_found")`,
 * `ConflictError("job_not_retryable")`, or `ConflictError("unique_key_taken")`
 * when a pending or processing job holds its `unique_key`. Whatever it
 * throws, nothing has changed.
 */
export async function retry(sql: Sql, opts: RetryOptions): Promise<Job> {
  const edit = opts.edit ?? {};
  if (!opts.actor && EDITABLE.every((f) => edit[f] === undefined)) {
    return await changeOne(sql, {
      id: opts.id,
      ctes: retryCtes(sql, { t: at(sql, opts.now), note: "retried by hand (" }),
      conflict: conflictOf,
    });
  }
  return await sql.begin(async (tx) => {
    const t = at(tx, opts.now);
    // Locks the job by primary key (job_pkey) for the whole edit; the retry below re-locks it.
    const [cur] = await tx<Pick<Job, "id" | "type" | "status" | Editable>[]>`
      SELECT id, type, status, payload, priority, queue FROM job WHERE id = ${opts.id} FOR UPDATE`;
    if (!cur) throw jobNotFound(opts.id);
    if (cur.status !== "failed" && cur.status !== "cancelled") throw notRetryable(cur.status);
    const next = { ...edit };
    if (next.payload !== undefined) next.payload = checkPayload(cur.type, next.payload);
    const changed = EDITABLE.filter((f) =>
      next[f] !== undefined && canonical(next[f]) !== canonical(cur[f])
    );
    const by = opts.actor ? ` ${byline(opts.actor)}` : "";
    if (changed.length > 0) {
      const previous = { payload: cur.payload, priority: cur.priority, queue: cur.queue };
      const after = { ...previous, ...Object.fromEntries(changed.map((f) => [f, next[f]])) };
      // One statement: the new values and the `edited` event (job_pkey; the row is locked
      // above). A new queue gets its `queue` row from the job_queue_register trigger.
      await tx`
        WITH changed AS (
          UPDATE job SET payload = ${tx.json(after.payload as never)},
            priority = ${after.priority}, queue = ${after.queue}, updated_at = ${t}
          WHERE id = ${cur.id}
          RETURNING id, attempts
        )
        INSERT INTO job_event (job_id, at, kind, attempt, message, data)
        SELECT id, ${t}, 'edited', attempts, ${`edited${by}: ${describe(changed, cur, after)}`},
          ${tx.json({ changed, previous } as never)}
        FROM changed`;
      if (opts.actor) {
        await record(tx, {
          actor: opts.actor,
          action: "job.edit",
          jobIds: [cur.id],
          count: 1,
          details: {
            from: cur.status,
            changed,
            previous: pick(previous, changed),
            new: pick(after, changed),
          },
          now: opts.now,
        });
      }
    } else if (opts.actor) {
      await record(tx, {
        actor: opts.actor,
        action: "job.retry",
        jobIds: [cur.id],
        count: 1,
        details: { from: cur.status },
        now: opts.now,
      });
    }
    return await changeOne(tx as unknown as Sql, {
      id: cur.id,
      ctes: retryCtes(tx, { t, note: `retried by hand${by} (` }),
      conflict: conflictOf,
    });
  });
}

/**
 * `payload` parsed with the schema of job type `type` (its output is what is
 * stored, as on create); throws the `ZodError`, its issue paths under
 * `payload`, when it does not pass.
 */
function checkPayload(type: string, payload: unknown): Record<string, unknown> {
  const schema = JOB_TYPES[type]?.schema;
  if (!schema) {
    throw new ConflictError("job_type_unknown", `this job's type ${type} is not known here`);
  }
  return z.strictObject({ payload: schema }).parse({ payload }).payload as Record<
    string,
    unknown
  >;
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
function canonical(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) =>
      x && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]))
        : x,
  );
}

/** `o` with only the `keys`. */
function pick(o: Record<Editable, unknown>, keys: readonly Editable[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

/** "payload (subject, body), priority 3 → 5, queue default → mail". */
function describe(
  changed: readonly Editable[],
  before: Record<Editable, unknown>,
  after: Record<Editable, unknown>,
): string {
  return changed.map((f) => {
    if (f !== "payload") return `${f} ${before[f]} → ${after[f]}`;
    const b = (before.payload ?? {}) as Record<string, unknown>;
    const a = (after.payload ?? {}) as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])]
      .filter((k) => canonical(b[k]) !== canonical(a[k]));
    return keys.length > 0 ? `payload (${keys.join(", ")})` : "payload";
  }).join(", ");
}
