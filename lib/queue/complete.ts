/** Hot path: recording success, fenced on the lease holder. */
import type { Sql } from "../db.ts";
import { at } from "./clock.ts";
import { changedOrThrow, type GuardedRow } from "./guard.ts";
import { ConflictError, type Job, type JobStatus } from "./types.ts";

/** A lease holder's proof: the job, the attempt it claimed, and who claimed it. */
export interface Fence {
  id: string;
  attempt: number;
  worker: string;
}

/**
 * Records success. Fenced on (id, processing, attempts, locked_by): returns
 * the completed row, or `null` when the caller no longer holds the job
 * (rescued, given back, cancelled or deleted meanwhile) — then nothing changes.
 * A job whose cancel was requested while it ran ends `cancelled` instead
 * (its result discarded, a `cancelled` event): the row returned says which.
 */
export async function complete(
  sql: Sql,
  opts: Fence & { result: unknown; now?: Date | null },
): Promise<Job | null> {
  const rows = await completeMany(sql, {
    worker: opts.worker,
    items: [{ id: opts.id, attempt: opts.attempt, result: opts.result }],
    now: opts.now,
  });
  return rows[0] ?? null;
}

/**
 * {@link complete} for a caller that must say why nothing happened (the
 * external worker's API): returns the completed row, or throws
 * `NotFoundError("job_not_found")`, or {@link fenceConflict}. A job whose
 * cancel was requested is recorded `cancelled` by this call, which then
 * throws `ConflictError("job_cancelled")` (the change stays).
 */
export async function completeOrThrow(
  sql: Sql,
  opts: Fence & { result: unknown; now?: Date | null },
): Promise<Job> {
  const items = [{ id: opts.id, attempt: opts.attempt, result: opts.result }];
  // `cur` reads the row as the statement's snapshot saw it (before `done`).
  const rows = await sql<GuardedRow[]>`
    ${completeStatement(sql, { worker: opts.worker, items, now: opts.now })},
    cur AS (SELECT status FROM job WHERE id = ${opts.id})
    SELECT cur.status AS found_status, done.* FROM cur LEFT JOIN done ON true`;
  return notCancelled(changedOrThrow(opts.id, rows, fenceConflict));
}

/** The error of an external worker's write on a cancelled job. */
export function jobCancelled(): ConflictError {
  return new ConflictError(
    "job_cancelled",
    "the job was cancelled while it ran; its outcome is recorded as cancelled",
  );
}

/** `row`, or {@link jobCancelled} when the fenced write recorded it cancelled. */
export function notCancelled(row: Job): Job {
  if (row.status === "cancelled") throw jobCancelled();
  return row;
}

/**
 * Why a fenced write matched nothing on an existing job: it was cancelled
 * (`job_cancelled`), it is not processing (`job_not_processing`), or another
 * worker or attempt holds it (`lease_lost`: its lease expired and it was
 * claimed again).
 */
export function fenceConflict(status: JobStatus): ConflictError {
  if (status === "cancelled") return jobCancelled();
  return status === "processing"
    ? new ConflictError(
      "lease_lost",
      "the job is held by another worker or attempt (its lease expired and it was claimed again)",
    )
    : new ConflictError(
      "job_not_processing",
      `only a processing job can be completed or failed; this one is ${status}`,
    );
}

/**
 * Completes many jobs of one worker in one statement, each fenced as in
 * {@link complete}. Returns the rows that were completed; ids missing from
 * the result were not held by `worker` at that attempt.
 */
export async function completeMany(sql: Sql, opts: CompleteManyOptions): Promise<Job[]> {
  if (opts.items.length === 0) return [];
  return await sql<Job[]>`${completeStatement(sql, opts)} SELECT * FROM done`;
}

/**
 * {@link completeMany}, returning only the ids written and which of them
 * ended `cancelled` (a cancel was requested while they ran): the worker's hot
 * path, which needs no more than that and so parses no rows.
 */
export async function completeIds(
  sql: Sql,
  opts: CompleteManyOptions,
): Promise<{ completed: string[]; cancelled: string[] }> {
  if (opts.items.length === 0) return { completed: [], cancelled: [] };
  const rows = await sql<{ id: string; c: boolean }[]>`
    ${
    completeStatement(sql, { ...opts, idsOnly: true })
  } SELECT id, status = 'cancelled' AS c FROM done`;
  return {
    completed: rows.filter((r) => !r.c).map((r) => r.id),
    cancelled: rows.filter((r) => r.c).map((r) => r.id),
  };
}

/** What {@link completeMany} and {@link completeIds} take. */
export interface CompleteManyOptions {
  worker: string;
  items: { id: string; attempt: number; result: unknown }[];
  now?: Date | null;
}

/** The CTEs that complete `opts.items`; the caller selects from `done`. */
function completeStatement(sql: Sql, opts: CompleteManyOptions & { idsOnly?: boolean }) {
  return sql`WITH ${completeCtes(sql, opts)}`;
}

/**
 * The CTEs `input`, `done` and `done_ev` that complete `opts.items`, without the
 * leading WITH: for a statement that writes completions together with other
 * work (a runner's completions and its next claim, see claim.ts). `done`
 * returns the whole row, or with `idsOnly` only `id`, `status` and
 * `attempts` (less for the statement to build and hold per row).
 */
export function completeCtes(sql: Sql, opts: CompleteManyOptions & { idsOnly?: boolean }) {
  const t = at(sql, opts.now);
  // Locks: each matched row (primary key lookups: `id = ANY(ids)` keeps them
  // index scans whatever the row estimate of the JSON input, which would
  // otherwise let a small table be hashed whole). Rows no longer held by the
  // caller do not match and are left alone. The items go in id order, so the
  // rows are locked in the order other multi-row writers (bulk actions,
  // deletes) take them in: two such statements never deadlock. Held by the
  // worker means processing (CHECK job_lease_iff_processing), so the status
  // is not tested: a test of it lets the planner read the partial
  // job_lease_idx, and with statistics from before a burst of claims it read
  // every processing job of every worker for each batch. (Not as
  // parallel arrays through `unnest`: the generic plan of the prepared
  // statement guesses 10 rows of input, where jsonb_array_elements guesses
  // 100, and joins them by a nested loop that compares every item with
  // every row: 13 ms for 256 items.)
  const items = [...opts.items].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const ids = items.map((i) => i.id);
  const returning = opts.idsOnly ? sql`j.id, j.status, j.attempts` : sql`j.*`;
  return sql`
    input AS (
      SELECT (e->>'id')::uuid AS id, (e->>'attempt')::int AS attempt, e->'result' AS result
      FROM jsonb_array_elements(${
    sql.json(items.map((i) => ({ ...i, result: i.result ?? null })) as never)
  }) AS e
    ), done AS (
      UPDATE job j SET
        status = CASE WHEN j.cancel_requested_at IS NULL THEN 'completed' ELSE 'cancelled' END,
        result = CASE WHEN j.cancel_requested_at IS NULL THEN input.result ELSE j.result END,
        error = CASE WHEN j.cancel_requested_at IS NULL THEN NULL ELSE j.error END,
        completed_at = CASE WHEN j.cancel_requested_at IS NULL THEN ${t} END,
        updated_at = ${t}, locked_by = NULL, locked_until = NULL
      FROM input
      WHERE j.id = ANY(${ids}::uuid[]) AND j.id = input.id
        AND j.attempts = input.attempt AND j.locked_by = ${opts.worker}
      RETURNING ${returning}
    ), done_ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker, message)
      SELECT id, ${t}, status, attempts, ${opts.worker},
        CASE WHEN status = 'cancelled'
          THEN 'cancelled while running: the cancel came before its result, which was discarded' END
      FROM done
    )`;
}
