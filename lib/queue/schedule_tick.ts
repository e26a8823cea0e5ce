/**
 * The scheduler's pass ({@link schedulerPass}) and "run now" ({@link runNow}):
 * the statements that turn a schedule into a job.
 *
 * Exactly once per tick, by two independent guards in one transaction:
 * the tick is claimed by compare-and-set on the schedule row (`UPDATE …
 * WHERE name = $1 AND next_run_at = <the tick read>`: a second scheduler that
 * read the same row updates nothing and enqueues nothing), and the job
 * carries `unique_key = 'schedule:<name>:<tick ISO>'`, inserted with `ON
 * CONFLICT DO NOTHING` (a unique index on pending/processing keys, where
 * there is one, refuses a second copy too). The pass also takes the
 * scheduler's transaction-scoped advisory lock, so in a cluster one process
 * at a time does the work and the others skip.
 */
import type { Sql, TxSql } from "../db.ts";
import { defaultQueueOf } from "../jobs/mod.ts";
import { latestTick, nextTick } from "../schedules/cron.ts";
import { SCHEDULER_LOCK_KEY } from "./lock_keys.ts";
import { CHANNEL_CHANGED, CHANNEL_NEW_JOBS } from "./notify.ts";
import { clockOf, type Schedule, scheduleNotFound } from "./schedules.ts";
import type { Job } from "./types.ts";
import { type Actor, byline, record } from "./audit.ts";

/** The queue a schedule's job goes to: its own, else its type's default, else `default`. */
export function queueOf(s: Pick<Schedule, "queue" | "type">): string {
  return s.queue ?? defaultQueueOf(s.type);
}

/** The `unique_key` of a tick's job. */
export function tickKey(name: string, tick: Date): string {
  return `schedule:${name}:${tick.toISOString()}`;
}

/** One tick enqueued by a pass. */
export interface Enqueued {
  schedule: string;
  tick: Date;
  job: Job;
}

/** What one pass did. */
export interface SchedulerPass {
  /** False when another process held the scheduler's turn (nothing was done). */
  ran: boolean;
  /** The instant the pass used (the database clock unless `now` was given). */
  now: Date;
  enqueued: Enqueued[];
  /** The earliest `next_run_at` of an enabled schedule after the pass (null: none). */
  nextDueAt: Date | null;
}

/** Inserts one schedule's job (and its `created` event); null when its key exists. */
async function insertJob(
  tx: TxSql,
  s: Schedule,
  opts: { t: Date; uniqueKey: string | null; message: string },
): Promise<Job | null> {
  // ON CONFLICT without a target: any unique index (the pending/processing unique_key one,
  // where it exists) turns a second copy into no row.
  const [job] = await tx<Job[]>`
    WITH ins AS (
      INSERT INTO job (type, payload, priority, max_attempts, queue, unique_key,
                       scheduled_for, created_at, updated_at)
      VALUES (${s.type}, ${tx.json(s.payload as never)}, ${s.priority}, ${s.max_attempts},
              ${queueOf(s)}, ${opts.uniqueKey}, ${opts.t}, ${opts.t}, ${opts.t})
      ON CONFLICT DO NOTHING
      RETURNING *
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, message)
      SELECT id, created_at, 'created', 0, ${opts.message} FROM ins
    )
    SELECT * FROM ins`;
  if (job) await tx`UPDATE schedule SET last_job_id = ${job.id} WHERE name = ${s.name}`;
  return job ?? null;
}

/**
 * One pass of the scheduler, in one transaction: unless `singleton: false`,
 * takes the scheduler's advisory lock without waiting (held elsewhere: does
 * nothing, `ran: false`); then, for each enabled schedule whose
 * `next_run_at` is due (≤ now; at most `limit`), enqueues the most recent
 * tick at or before now (after downtime the missed ticks before it are
 * skipped) and moves `next_run_at` to the first tick after now. Workers are
 * notified at commit. Returns what it enqueued and when the next tick is due.
 */
export async function schedulerPass(
  sql: Sql,
  opts: { now?: Date | null; singleton?: boolean; limit?: number } = {},
): Promise<SchedulerPass> {
  return await sql.begin(async (tx: TxSql) => {
    const t = await clockOf(tx, opts.now);
    if (opts.singleton ?? true) {
      const [{ ok }] = await tx<{ ok: boolean }[]>`
        SELECT pg_try_advisory_xact_lock(${SCHEDULER_LOCK_KEY}) AS ok`;
      if (!ok) return { ran: false, now: t, enqueued: [], nextDueAt: null };
    }
    // Index: schedule_next_run_idx (partial on enabled). SKIP LOCKED: a row another
    // transaction is changing (or ticking) is left for the next pass.
    const due = await tx<Schedule[]>`
      SELECT * FROM schedule WHERE enabled AND next_run_at <= ${t}
      ORDER BY next_run_at LIMIT ${opts.limit ?? 100}
      FOR UPDATE SKIP LOCKED`;
    const enqueued: Enqueued[] = [];
    for (const s of due) {
      const read = s.next_run_at as Date;
      const tick = latestTick(s.cron, s.timezone, t, read) ?? read;
      const next = nextTick(s.cron, s.timezone, t);
      // The compare-and-set that makes the tick this transaction's alone.
      const [claimed] = await tx<Schedule[]>`
        UPDATE schedule SET next_run_at = ${next}, enabled = ${next !== null},
          last_run_at = ${tick}, updated_at = ${t}
        WHERE name = ${s.name} AND enabled AND next_run_at = ${read}
        RETURNING *`;
      if (!claimed) continue;
      const job = await insertJob(tx, claimed, {
        t,
        uniqueKey: tickKey(s.name, tick),
        message: `enqueued by schedule ${s.name} for its tick at ${tick.toISOString()}`,
      });
      if (job) enqueued.push({ schedule: s.name, tick, job });
    }
    if (enqueued.length) {
      await tx`SELECT pg_notify(${CHANNEL_NEW_JOBS}, ''), pg_notify(${CHANNEL_CHANGED}, '')`;
    }
    // Index: schedule_next_run_idx.
    const [{ next_due }] = await tx<{ next_due: Date | null }[]>`
      SELECT min(next_run_at) AS next_due FROM schedule WHERE enabled`;
    return { ran: true, now: t, enqueued, nextDueAt: next_due };
  }) as SchedulerPass;
}

/**
 * Enqueues a schedule's job now, whatever its `enabled` and `next_run_at`
 * (neither moves; `last_job_id` does). Throws `NotFoundError` for an unknown
 * name. Workers are notified at commit. With an `actor`, the job's `created`
 * event names them and a `schedule.run` audit entry (with the job's id) is
 * written in the same transaction.
 */
export async function runNow(
  sql: Sql,
  opts: { name: string; now?: Date | null; actor?: Actor | null },
): Promise<Job> {
  return await sql.begin(async (tx: TxSql) => {
    // Primary key, locked against a concurrent change or removal.
    const [s] = await tx<Schedule[]>`SELECT * FROM schedule WHERE name = ${opts.name} FOR UPDATE`;
    if (!s) throw scheduleNotFound(opts.name);
    const t = await clockOf(tx, opts.now);
    const by = opts.actor ? ` ${byline(opts.actor)}` : "";
    const job = await insertJob(tx, s, {
      t,
      uniqueKey: null,
      message: `enqueued by "run now" of schedule ${s.name}${by}`,
    });
    if (opts.actor && job) {
      await record(tx, {
        actor: opts.actor,
        action: "schedule.run",
        target: s.name,
        jobIds: [job.id],
        count: 1,
        details: { type: job.type },
        now: opts.now,
      });
    }
    await tx`SELECT pg_notify(${CHANNEL_NEW_JOBS}, ''), pg_notify(${CHANNEL_CHANGED}, '')`;
    return job as Job;
  }) as Job;
}
