/** Hot path: claiming due jobs for a worker. */
import type { Sql } from "../db.ts";
import { at } from "./clock.ts";
import { completeCtes, type CompleteManyOptions } from "./complete.ts";
import type { Job } from "./types.ts";

/**
 * Claims up to `limit` due pending jobs for `worker`: priority 5 first, then
 * oldest. Sets them processing, attempts+1, lease until now + `leaseSeconds`,
 * and writes a `claimed` event each. Returns them in claim order; `[]` when
 * nothing is due. Skips paused queues; takes no more jobs of a limited queue
 * than it has free slots across all claimers (see migration 0006); with
 * `queues`, only jobs of those queues. A job whose `expires_at` has passed is
 * never claimed (the expirer cancels it, see expire.ts). With `lean`, the
 * rows carry only what a handler needs (id, type, payload, priority,
 * attempts, max_attempts, created_at, timeout_seconds): less to send and
 * parse per job in the worker's hot path.
 *
 * The claim commits synchronously (it waits for its WAL flush): a claim the
 * caller was told of survives a database crash, so every run of a job has
 * its `claimed` event. (An asynchronous claim could be forgotten by a crash
 * while its handler ran: the job then ran twice with one claim recorded.)
 */
export async function claim(sql: Sql, opts: ClaimOptions & { lean: true }): Promise<LeanJob[]>;
export async function claim(sql: Sql, opts: ClaimOptions & { lean?: false }): Promise<Job[]>;
export async function claim(sql: Sql, opts: ClaimOptions): Promise<Job[] | LeanJob[]> {
  const columns = opts.lean
    ? sql`id, type, payload, priority, attempts, max_attempts, created_at, timeout_seconds`
    : sql`*`;
  return await sql<Job[]>`
    WITH ${claimCtes(sql, opts)}
    SELECT ${columns} FROM claimed ORDER BY priority DESC, created_at, id`;
}

/**
 * Writes a runner's finished jobs (`complete`, as `completeIds` does) and
 * claims its next jobs (as a `lean` {@link claim}) in one statement: one
 * round trip and one commit per cycle of a runner of several slots, where
 * two statements of a few rows each cost the database most of their time in
 * what every statement costs (executor start, commit). The claim's snapshot
 * still sees the finished jobs processing: of a limited queue it may then
 * take fewer jobs, never more. Returns the claimed jobs in claim order and
 * which completions were written (`cancelled`: recorded cancelled instead).
 * Its claimed and completed rows carry only the columns it reads.
 */
export async function completeAndClaim(
  sql: Sql,
  opts: ClaimOptions & { complete: CompleteManyOptions["items"] },
): Promise<{ jobs: LeanJob[]; completed: string[]; cancelled: string[] }> {
  const done = opts.complete.length
    ? sql`${
      completeCtes(sql, { worker: opts.worker, items: opts.complete, now: opts.now, idsOnly: true })
    },`
    : sql``;
  // Of the completions, only those not written as completed come back (of
  // the usual batch: none), with how they ended: `cancelled`, or `lost` when
  // the fence refused the write.
  const notCompleted = opts.complete.length
    ? sql`UNION ALL SELECT i.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        coalesce(d.status, 'lost')
      FROM input i LEFT JOIN done d ON d.id = i.id
      WHERE d.status IS DISTINCT FROM 'completed'`
    : sql``;
  // One result: the claimed rows (outcome NULL) in claim order, then the
  // completions not written as completed.
  const rows = await sql<(LeanJob & { outcome: string | null })[]>`
    WITH ${done} ${claimCtes(sql, { ...opts, lean: true })}
    SELECT * FROM (
      SELECT id, type, payload, priority, attempts, max_attempts, created_at, timeout_seconds,
        NULL::text AS outcome
      FROM claimed
      ${notCompleted}
    ) AS r ORDER BY outcome NULLS FIRST, priority DESC, created_at, id`;
  // The claimed rows are returned as they come (with their null `outcome`).
  const jobs: LeanJob[] = [];
  const cancelled: string[] = [];
  let notDone: Set<string> | null = null;
  for (const row of rows) {
    if (row.outcome === null) jobs.push(row);
    else {
      (notDone ??= new Set()).add(row.id);
      if (row.outcome === "cancelled") cancelled.push(row.id);
    }
  }
  const completed: string[] = [];
  for (const item of opts.complete) if (!notDone?.has(item.id)) completed.push(item.id);
  return { jobs, completed, cancelled };
}

/** The CTEs of a claim (without the leading WITH); the caller selects from `claimed`. */
function claimCtes(sql: Sql, opts: ClaimOptions) {
  const t = at(sql, opts.now);
  // Locks: the chosen rows (FOR UPDATE SKIP LOCKED: rows another claimer holds
  // are passed over, never waited for). Index: job_claim_idx (partial on
  // pending, ordered priority DESC, created_at, id), read in order, so the
  // LIMIT stops the scan early. The update finds the rows by primary key
  // through `id = ANY(ARRAY(…))`: statements are prepared, and a generic plan
  // guesses a parameter LIMIT at hundreds of rows and, with a join to `next`,
  // hashes the whole table — a sequential scan of `job` per claim.
  const limit = opts.limit ?? 1;
  const queues = opts.queues && opts.queues.length ? opts.queues : null;
  const types = opts.types && opts.types.length ? opts.types : null;
  // The plain part. Every queue: jobq_claim_open (migrations/0021, fenced
  // from stale statistics as 0019's jobq_claim_plain, which made the read
  // sort every pending job). With no queue special, job_claim_idx in claim
  // order; with some paused or limited, the open queues read apart from
  // job_queue_claim_idx when the special queues' backlog would cost the walk
  // more than a probe per open queue, so a paused queue's backlog ahead in
  // claim order is not walked by every claim. Some queues
  // (WORKER_QUEUES): each of them that is not special read apart through
  // jobq_claim_queue, as limited queues are, so a worker of a few queues
  // never walks the pending jobs of all the others.
  const plain = queues
    ? sql`SELECT c.id, c.priority, c.created_at
      FROM (SELECT w.name FROM unnest(${queues}::text[]) AS w(name)
            WHERE NOT EXISTS (SELECT FROM special s WHERE s.name = w.name) ORDER BY w.name) AS w
      CROSS JOIN LATERAL jobq_claim_queue(w.name, ${limit}, ${types}::text[], ${t}) AS c`
    : sql`SELECT id, priority, created_at FROM jobq_claim_open(${limit}, ${types}::text[],
        ARRAY(SELECT name FROM special)::text[], ${t})`;
  const scope = queues ? sql`AND name = ANY(${queues}::text[])` : sql``;
  // Queues (migration 0006). `special`: the paused or limited queues, a seq
  // scan of the small `queue` table; the plain path skips them with one
  // filter (an init plan) and is otherwise the claim it always was. The
  // filter is an OR with "no such queue" so that the planner never estimates
  // it as dropping nearly every row (`queue <> x` for an unknown x, when
  // the table holds few distinct queues, is estimated to keep ~none, which
  // turned the claim into a seq scan and sort of `job`). Each
  // limited queue the worker serves is claimed apart, in name order (the
  // order its claim locks are taken in, so two claimers never wait for each
  // other in a cycle): queue_claim_slots() says how many it may take (0
  // without a due job, at the limit or paused; it holds the queue's claim
  // lock until this statement commits), then its due jobs are read in claim
  // order through jobq_claim_queue (migrations/0021: job_queue_claim_idx
  // stopped at the LIMIT, fenced from stale statistics, which made it read
  // and sort every pending job of the queue). Both parts lock their rows
  // with SKIP LOCKED; the best `limit` of them by claim order are claimed
  // (the rest are unlocked at commit). Rows this statement's snapshot saw as pending but
  // another claimer took since are re-checked under the row lock and passed
  // over, so the count taken under the queue lock bounds what is claimed.
  // The update also asks `attempts < max_attempts`. It reads each row as
  // the statement's snapshot saw it, older than the snapshots that chose
  // and locked the rows (the functions take their own), and PostgreSQL
  // checks the new row's constraints on that version before it finds the
  // newer one: a job retried by hand in between was `failed` there with its
  // attempts used up, and `attempts + 1` broke job_attempts_within_max,
  // failing the whole claim. With the condition such a row is passed over
  // (it stays pending for the next claim); a row that qualifies in the old
  // version is updated from its newest one, as before. (Not the status: a
  // status condition lets the planner read job_claim_idx instead of the
  // primary key.)
  return sql`
    special AS MATERIALIZED (
      SELECT name, paused FROM queue WHERE paused OR concurrency IS NOT NULL
    ), plain AS (
      ${plain}
    ), slots AS MATERIALIZED (
      SELECT name, queue_claim_slots(name, ${limit}, ${t}) AS free
      FROM (SELECT name FROM special WHERE NOT paused ${scope} ORDER BY name OFFSET 0) AS s
    ), limited AS (
      SELECT c.id, c.priority, c.created_at
      FROM slots s CROSS JOIN LATERAL jobq_claim_queue(s.name, s.free, ${types}::text[], ${t}) AS c
      WHERE s.free > 0
    ), next AS (
      SELECT id FROM (SELECT * FROM plain UNION ALL SELECT * FROM limited) AS u
      ORDER BY priority DESC, created_at, id
      LIMIT ${limit}
    ), claimed AS (
      UPDATE job j SET status = 'processing', attempts = j.attempts + 1, locked_by = ${opts.worker},
        locked_until = ${t} + make_interval(secs => ${opts.leaseSeconds}), started_at = ${t}, updated_at = ${t}
      WHERE j.id = ANY(ARRAY(SELECT id FROM next)) AND j.attempts < j.max_attempts
      RETURNING ${
    opts.lean
      ? sql`j.id, j.type, j.payload, j.priority, j.attempts, j.max_attempts, j.created_at,
        j.timeout_seconds, j.updated_at, j.locked_by`
      : sql`j.*`
  }
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker)
      SELECT id, updated_at, 'claimed', attempts, locked_by FROM claimed
    )${
    // The runner's mark of this batch (marks.ts), written with the claim so
    // that no moment passes between the two: the batch (its claim time, the
    // runner's sequence number of its first job) and the bound, the job at
    // position `bound` in claim order (none in a smaller batch). It replaces
    // the mark of the runner's previous batch. An empty claim writes nothing
    // (the old row describes no job the runner holds).
    opts.marks !== undefined
      ? sql`, mark AS (
        INSERT INTO runner_mark (runner, seq, claimed_at, bound)
        SELECT ${opts.worker}, ${opts.marks.seq}, ${t},
          (SELECT id FROM claimed ORDER BY priority DESC, created_at, id OFFSET ${opts.marks.bound} LIMIT 1)
        WHERE EXISTS (SELECT FROM claimed)
        ON CONFLICT (runner) DO UPDATE SET seq = excluded.seq, claimed_at = excluded.claimed_at,
          bound = excluded.bound, at = now()
      )`
      : sql``}`;
}

/** What {@link claim} takes. */
export interface ClaimOptions {
  worker: string;
  limit?: number;
  leaseSeconds: number;
  types?: string[] | null;
  /** Only jobs of these queues (`null` or empty: every queue). */
  queues?: string[] | null;
  lean?: boolean;
  /**
   * The claimer is a runner that marks what it has not started of its batch
   * (marks.ts): this statement writes the batch's mark, with the runner's
   * sequence number of its first job and the first bound (the jobs from
   * this position on, 0-based in claim order, have not started).
   */
  marks?: { seq: number; bound: number };
  now?: Date | null;
}

/** A job as a `lean` {@link claim} returns it: what a handler needs. */
export type LeanJob = Pick<
  Job,
  | "id"
  | "type"
  | "payload"
  | "priority"
  | "attempts"
  | "max_attempts"
  | "created_at"
  | "timeout_seconds"
>;
