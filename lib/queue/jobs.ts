/**
 * All SQL on `job` (and the `job_event` rows its state changes write).
 * Every function takes `sql` (pool or transaction) first, then one options
 * object; `now: null` (the default) means the database clock.
 */
import type postgres from "postgres";
import type { Sql, TxSql } from "../db.ts";
import { backoffMs, errorText } from "./backoff.ts";
import { countMatching } from "./stats.ts";
import type { Job, JobEvent, JobStatus } from "./types.ts";

/** The instant to use: a fixed `Date` (tests) or the database's `now()`. */
function at(sql: Sql, now: Date | null | undefined) {
  return now ? sql`${now}::timestamptz` : sql`now()`;
}

/** What a producer supplies for a new job; defaults as in the schema. */
export interface NewJob {
  type: string;
  payload: unknown;
  priority?: number;
  max_attempts?: number;
  /** Not before this instant (default: now). */
  scheduled_for?: Date | string | null;
}

/**
 * `NOTIFY channel` inside the enqueue's own statement, for a producer with
 * nothing else in flight: workers wake as the row commits, one round trip
 * sooner than a NOTIFY sent after the commit. A notifying commit takes a
 * cluster-wide lock, so busy producers leave it out and poke a coalescing
 * {@link Notifier} instead (see {@link InlineNotify}).
 */
function notifying(sql: Sql, channel: string | null | undefined) {
  return channel ? sql`CROSS JOIN LATERAL (SELECT pg_notify(${channel}, '')) AS n` : sql``;
}

/**
 * Inserts one pending job and its `created` event in one statement.
 * Returns the stored row. With `notify`, the statement also sends
 * `NOTIFY <notify>` (see {@link InlineNotify}).
 */
export async function enqueue(
  sql: Sql,
  opts: { job: NewJob; now?: Date | null; notify?: string | null },
): Promise<Job> {
  const j = opts.job;
  const t = at(sql, opts.now);
  // Locks nothing beyond the new row; serves no index lookups.
  const [row] = await sql<Job[]>`
    WITH ins AS (
      INSERT INTO job (type, payload, priority, max_attempts, scheduled_for, created_at, updated_at)
      VALUES (${j.type}, ${sql.json(j.payload as never)}, ${j.priority ?? 3}, ${
    j.max_attempts ?? 3
  },
              coalesce(${j.scheduled_for ?? null}::timestamptz, ${t}), ${t}, ${t})
      RETURNING *
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt) SELECT id, created_at, 'created', 0 FROM ins
    )
    SELECT ins.* FROM ins ${notifying(sql, opts.notify)}`;
  return row;
}

/**
 * Inserts many jobs (and their `created` events) in one statement: all or
 * none. Returns the rows in input order. An empty list inserts nothing.
 */
export async function enqueueBatch(
  sql: Sql,
  opts: { jobs: NewJob[]; now?: Date | null; notify?: string | null },
): Promise<Job[]> {
  if (opts.jobs.length === 0) return [];
  const t = at(sql, opts.now);
  const input = opts.jobs.map((j) => ({
    type: j.type,
    payload: j.payload,
    priority: j.priority ?? 3,
    max_attempts: j.max_attempts ?? 3,
    scheduled_for: j.scheduled_for ?? null,
  }));
  // One statement: the array travels as one jsonb parameter.
  const rows = await sql<(Job & { ord: number })[]>`
    WITH input AS (
      SELECT ord, e->>'type' AS type, e->'payload' AS payload, (e->>'priority')::smallint AS priority,
             (e->>'max_attempts')::int AS max_attempts, (e->>'scheduled_for')::timestamptz AS scheduled_for
      FROM jsonb_array_elements(${sql.json(input as never)}) WITH ORDINALITY AS t(e, ord)
    ), ins AS (
      INSERT INTO job (type, payload, priority, max_attempts, scheduled_for, created_at, updated_at)
      SELECT type, payload, priority, max_attempts, coalesce(scheduled_for, ${t}), ${t}, ${t}
      FROM input ORDER BY ord
      RETURNING *
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt) SELECT id, created_at, 'created', 0 FROM ins
    )
    SELECT ins.* FROM ins ${notifying(sql, opts.notify)}`;
  return rows;
}

/**
 * Claims up to `limit` due pending jobs for `worker`: priority 5 first, then
 * oldest. Sets them processing, attempts+1, lease until now + `leaseSeconds`,
 * and writes a `claimed` event each. Returns them in claim order; `[]` when
 * nothing is due. With `lean`, the rows carry only what a handler needs (id,
 * type, payload, priority, attempts, max_attempts, created_at): less to send
 * and parse per job in the worker's hot path.
 *
 * The claim commits synchronously (it waits for its WAL flush): a claim the
 * caller was told of survives a database crash, so every run of a job has
 * its `claimed` event. (An asynchronous claim could be forgotten by a crash
 * while its handler ran: the job then ran twice with one claim recorded.)
 */
export async function claim(sql: Sql, opts: ClaimOptions & { lean: true }): Promise<LeanJob[]>;
export async function claim(sql: Sql, opts: ClaimOptions & { lean?: false }): Promise<Job[]>;
export async function claim(sql: Sql, opts: ClaimOptions): Promise<Job[] | LeanJob[]> {
  const t = at(sql, opts.now);
  const typeFilter = opts.types && opts.types.length ? sql`AND type = ANY(${opts.types})` : sql``;
  // Locks: the chosen rows (FOR UPDATE SKIP LOCKED: rows another claimer holds
  // are passed over, never waited for). Index: job_claim_idx (partial on
  // pending, ordered priority DESC, created_at, id), read in order, so the
  // LIMIT stops the scan early. The update finds the rows by primary key
  // through `id = ANY(ARRAY(…))`: statements are prepared, and a generic plan
  // guesses a parameter LIMIT at hundreds of rows and, with a join to `next`,
  // hashes the whole table — a sequential scan of `job` per claim.
  const columns = opts.lean
    ? sql`id, type, payload, priority, attempts, max_attempts, created_at`
    : sql`*`;
  return await sql<Job[]>`
    WITH next AS (
      SELECT id FROM job
      WHERE status = 'pending' AND scheduled_for <= ${t} AND attempts < max_attempts ${typeFilter}
      ORDER BY priority DESC, created_at, id
      LIMIT ${opts.limit ?? 1}
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE job j SET status = 'processing', attempts = j.attempts + 1, locked_by = ${opts.worker},
        locked_until = ${t} + make_interval(secs => ${opts.leaseSeconds}), started_at = ${t}, updated_at = ${t}
      WHERE j.id = ANY(ARRAY(SELECT id FROM next))
      RETURNING j.*
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker)
      SELECT id, updated_at, 'claimed', attempts, locked_by FROM claimed
    )
    SELECT ${columns} FROM claimed ORDER BY priority DESC, created_at, id`;
}

/** What {@link claim} takes. */
export interface ClaimOptions {
  worker: string;
  limit?: number;
  leaseSeconds: number;
  types?: string[] | null;
  lean?: boolean;
  now?: Date | null;
}

/** A job as a `lean` {@link claim} returns it: what a handler needs. */
export type LeanJob = Pick<
  Job,
  "id" | "type" | "payload" | "priority" | "attempts" | "max_attempts" | "created_at"
>;

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
 * Completes many jobs of one worker in one statement, each fenced as in
 * {@link complete}. Returns the rows that were completed; ids missing from
 * the result were not held by `worker` at that attempt.
 */
export async function completeMany(sql: Sql, opts: CompleteManyOptions): Promise<Job[]> {
  if (opts.items.length === 0) return [];
  return await sql<Job[]>`${completeStatement(sql, opts)} SELECT * FROM done`;
}

/**
 * {@link completeMany}, returning only the ids completed: the worker's hot
 * path, which needs no more than that and so parses no rows.
 */
export async function completeIds(sql: Sql, opts: CompleteManyOptions): Promise<string[]> {
  if (opts.items.length === 0) return [];
  const rows = await sql<{ id: string }[]>`${completeStatement(sql, opts)} SELECT id FROM done`;
  return rows.map((r) => r.id);
}

/** What {@link completeMany} and {@link completeIds} take. */
export interface CompleteManyOptions {
  worker: string;
  items: { id: string; attempt: number; result: unknown }[];
  now?: Date | null;
}

/** The CTEs that complete `opts.items`; the caller selects from `done`. */
function completeStatement(sql: Sql, opts: CompleteManyOptions) {
  const t = at(sql, opts.now);
  // Locks: each matched row (primary key lookups: `id = ANY(ids)` keeps them
  // index scans whatever the row estimate of the JSON input, which would
  // otherwise let a small table be hashed whole). Rows no longer held by the
  // caller do not match and are left alone.
  const ids = opts.items.map((i) => i.id);
  return sql`
    WITH input AS (
      SELECT (e->>'id')::uuid AS id, (e->>'attempt')::int AS attempt, e->'result' AS result
      FROM jsonb_array_elements(${
    sql.json(opts.items.map((i) => ({ ...i, result: i.result ?? null })) as never)
  }) AS e
    ), done AS (
      UPDATE job j SET status = 'completed', result = input.result, error = NULL, completed_at = ${t},
        updated_at = ${t}, locked_by = NULL, locked_until = NULL
      FROM input
      WHERE j.id = ANY(${ids}::uuid[]) AND j.id = input.id AND j.status = 'processing'
        AND j.attempts = input.attempt AND j.locked_by = ${opts.worker}
      RETURNING j.*
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker)
      SELECT id, ${t}, 'completed', attempts, ${opts.worker} FROM done
    )`;
}

/** Retry policy for {@link fail}. */
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  random?: () => number;
}

/**
 * Records a failed attempt. Fenced like {@link complete}. While attempts <
 * max_attempts (and not `permanent`) the job returns to pending, due after an
 * exponential backoff with jitter; else it ends `failed`. The error (safely
 * serialised, at most a few KB) goes into the job and its `failed` event.
 * Returns the updated row, or `null` when the caller no longer holds the job.
 */
export async function fail(
  sql: Sql,
  opts: Fence & {
    error: unknown;
    retry: RetryPolicy;
    permanent?: boolean;
    now?: Date | null;
  },
): Promise<Job | null> {
  const t = at(sql, opts.now);
  const message = errorText(opts.error);
  const delayMs = backoffMs({
    attempt: opts.attempt,
    baseMs: opts.retry.baseMs,
    maxMs: opts.retry.maxMs,
    random: opts.retry.random,
  });
  const permanent = opts.permanent ?? false;
  // Locks: the one row, by primary key, only if still held by the caller.
  const [row] = await sql<Job[]>`
    WITH upd AS (
      UPDATE job j SET
        status = CASE WHEN j.attempts < j.max_attempts AND NOT ${permanent} THEN 'pending' ELSE 'failed' END,
        scheduled_for = CASE WHEN j.attempts < j.max_attempts AND NOT ${permanent}
          THEN ${t} + make_interval(secs => ${delayMs / 1000}) ELSE j.scheduled_for END,
        error = ${message}, updated_at = ${t}, locked_by = NULL, locked_until = NULL
      WHERE j.id = ${opts.id} AND j.status = 'processing' AND j.attempts = ${opts.attempt}
        AND j.locked_by = ${opts.worker}
      RETURNING j.*
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker, message)
      SELECT id, ${t}, 'failed', attempts, ${opts.worker},
        CASE WHEN status = 'pending' THEN ${message} || E'\n(retry scheduled at '
               || to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"') || ')'
             ELSE ${message} END
      FROM upd
    )
    SELECT * FROM upd`;
  return row ?? null;
}

/**
 * Gives jobs back without counting the attempt (graceful stop): processing
 * → pending, attempts−1, due now, a `released` event each. Fenced per job.
 * Returns the ids given back.
 */
export async function release(sql: Sql, opts: {
  worker: string;
  items: { id: string; attempt: number }[];
  reason?: string;
  now?: Date | null;
}): Promise<string[]> {
  if (opts.items.length === 0) return [];
  const t = at(sql, opts.now);
  const rows = await sql<{ id: string }[]>`
    WITH input AS (
      SELECT (e->>'id')::uuid AS id, (e->>'attempt')::int AS attempt
      FROM jsonb_array_elements(${sql.json(opts.items as never)}) AS e
    ), upd AS (
      UPDATE job j SET status = 'pending', attempts = j.attempts - 1, scheduled_for = ${t}, updated_at = ${t},
        locked_by = NULL, locked_until = NULL
      FROM input
      WHERE j.id = input.id AND j.status = 'processing' AND j.attempts = input.attempt AND j.locked_by = ${opts.worker}
      RETURNING j.id, input.attempt
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker, message)
      SELECT id, ${t}, 'released', attempt, ${opts.worker}, ${
    opts.reason ?? "given back on shutdown"
  } FROM upd
    )
    SELECT id FROM upd`;
  return rows.map((r) => r.id);
}

/**
 * Extends the lease of the listed jobs still held by `worker` to now +
 * `leaseSeconds`. Returns the ids extended: a missing id was lost, or was
 * locked by a write of its holder at that moment (skipped, never waited for).
 */
export async function extendLease(sql: Sql, opts: {
  worker: string;
  ids: string[];
  leaseSeconds: number;
  now?: Date | null;
}): Promise<string[]> {
  if (opts.ids.length === 0) return [];
  const t = at(sql, opts.now);
  // Primary key lookups; never touches rows of other workers. Locks: the
  // rows, in id order, SKIP LOCKED: a row locked now is being completed,
  // failed or given back by its runner (whose multi-row completeMany locks
  // the same rows in another order — waiting here deadlocked with it), so it
  // needs no renewal; if that write rolls back, the next renewal (lease/3
  // later) extends it.
  const rows = await sql<{ id: string }[]>`
    WITH held AS (
      SELECT id FROM job
      WHERE id = ANY(${opts.ids}::uuid[]) AND status = 'processing' AND locked_by = ${opts.worker}
      ORDER BY id
      FOR UPDATE SKIP LOCKED
    )
    UPDATE job j SET locked_until = ${t} + make_interval(secs => ${opts.leaseSeconds})
    FROM held WHERE j.id = held.id
    RETURNING j.id`;
  return rows.map((r) => r.id);
}

/** What the rescuer did to one job. */
export interface Rescued {
  id: string;
  status: JobStatus;
  attempts: number;
  previous_worker: string;
}

/**
 * Returns jobs whose lease expired (by the database clock) to the retry path:
 * pending again (due now) when attempts remain, else failed. The crashed
 * attempt counts. Writes a `rescued` event each; re-checks the condition in
 * the UPDATE. Returns what it changed (at most `limit`).
 */
export async function rescueExpired(
  sql: Sql,
  opts: { limit?: number; now?: Date | null } = {},
): Promise<Rescued[]> {
  const t = at(sql, opts.now);
  // Index: job_lease_idx (partial on processing, by locked_until).
  return await sql<Rescued[]>`
    WITH expired AS (
      SELECT id, locked_by FROM job
      WHERE status = 'processing' AND locked_until < ${t}
      ORDER BY locked_until
      LIMIT ${opts.limit ?? 1000}
      FOR UPDATE SKIP LOCKED
    ), upd AS (
      UPDATE job j SET
        status = CASE WHEN j.attempts < j.max_attempts THEN 'pending' ELSE 'failed' END,
        error = 'lease expired: worker ' || expired.locked_by || ' stopped renewing it',
        scheduled_for = ${t}, updated_at = ${t}, locked_by = NULL, locked_until = NULL
      FROM expired
      WHERE j.id = expired.id AND j.status = 'processing' AND j.locked_until < ${t}
      RETURNING j.id, j.status, j.attempts, expired.locked_by AS previous_worker
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker, message)
      SELECT id, ${t}, 'rescued', attempts, previous_worker,
        'lease expired; ' || CASE WHEN status = 'pending' THEN 'returned to pending'
                                  ELSE 'no attempts left: failed' END
      FROM upd
    )
    SELECT * FROM upd`;
}

/**
 * Cancels a pending job (with its `cancelled` event). Returns the row, or
 * `null` when the job is missing or not pending (see {@link get} to tell).
 */
export async function cancel(
  sql: Sql,
  opts: { id: string; now?: Date | null },
): Promise<Job | null> {
  const t = at(sql, opts.now);
  const [row] = await sql<Job[]>`
    WITH upd AS (
      UPDATE job SET status = 'cancelled', updated_at = ${t}
      WHERE id = ${opts.id} AND status = 'pending'
      RETURNING *
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, message)
      SELECT id, ${t}, 'cancelled', attempts, 'cancelled by hand' FROM upd
    )
    SELECT * FROM upd`;
  return row ?? null;
}

/**
 * When a job retried by hand runs (in `UPDATE job j … FROM prev`, `prev`
 * holding the old status): a cancelled job whose `scheduled_for` is still
 * after `t` keeps its schedule (it was cancelled before it was due, so
 * running it early would surprise); any other job is due at `t`.
 */
export function retryScheduledFor(sql: Sql | TxSql, t: postgres.PendingQuery<postgres.Row[]>) {
  return sql`CASE WHEN prev.status = 'cancelled' AND j.scheduled_for > ${t}
    THEN j.scheduled_for ELSE ${t} END`;
}

/** The `retried` event's note on a kept schedule (over the updated row), else ''. */
export function retryNote(sql: Sql | TxSql, t: postgres.PendingQuery<postgres.Row[]>) {
  return sql`CASE WHEN scheduled_for > ${t} THEN '; keeps its schedule: due '
    || to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' ELSE '' END`;
}

/**
 * Retries by hand: a failed or cancelled job goes back to pending with its
 * attempts reset (a fresh set of tries) and a `retried` event. It is due now,
 * except a cancelled job still scheduled for later, which keeps its schedule
 * (see {@link retryScheduledFor}; the event says so).
 * Returns the row, or `null` when the job is missing or in another state.
 */
export async function retry(
  sql: Sql,
  opts: { id: string; now?: Date | null },
): Promise<Job | null> {
  const t = at(sql, opts.now);
  const [row] = await sql<Job[]>`
    WITH prev AS (
      SELECT id, status, attempts FROM job WHERE id = ${opts.id} AND status IN ('failed', 'cancelled') FOR UPDATE
    ), upd AS (
      UPDATE job j SET status = 'pending', attempts = 0, scheduled_for = ${
    retryScheduledFor(sql, t)
  },
        updated_at = ${t}
      FROM prev WHERE j.id = prev.id AND j.status IN ('failed', 'cancelled')
      RETURNING j.*, prev.status AS prev_status, prev.attempts AS prev_attempts
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, message)
      SELECT id, ${t}, 'retried', prev_attempts,
        'retried by hand (was ' || prev_status || ')' || ${retryNote(sql, t)} FROM upd
    )
    SELECT id, type, status, priority, payload, result, error, attempts, max_attempts, created_at, updated_at,
      scheduled_for, started_at, completed_at, locked_by, locked_until FROM upd`;
  return row ?? null;
}

/**
 * Deletes a job with its events and artifact, in any state but processing
 * (a running job is cancelled or finished first). Returns the deleted row's
 * id, or `null` when it was missing or processing.
 */
export async function remove(sql: Sql, opts: { id: string }): Promise<string | null> {
  const rows = await removeMany(sql, { ids: [opts.id] });
  return rows[0] ?? null;
}

/** Deletes many jobs as {@link remove} does, in one statement; returns the deleted ids. */
export async function removeMany(sql: Sql, opts: { ids: string[] }): Promise<string[]> {
  if (opts.ids.length === 0) return [];
  const rows = await sql<{ id: string }[]>`
    WITH del AS (
      DELETE FROM job WHERE id = ANY(${opts.ids}::uuid[]) AND status <> 'processing' RETURNING id
    ), ev AS (
      DELETE FROM job_event WHERE job_id IN (SELECT id FROM del)
    ), art AS (
      DELETE FROM job_artifact WHERE job_id IN (SELECT id FROM del)
    )
    SELECT id FROM del`;
  return rows.map((r) => r.id);
}

/** One job by id, or `null`. */
export async function get(sql: Sql, opts: { id: string }): Promise<Job | null> {
  const [row] = await sql<Job[]>`SELECT * FROM job WHERE id = ${opts.id}`;
  return row ?? null;
}

/** One job with its events in order, or `null`. */
export async function getWithEvents(
  sql: Sql,
  opts: { id: string },
): Promise<(Job & { events: JobEvent[] }) | null> {
  const job = await get(sql, opts);
  if (!job) return null;
  const events = await sql<
    JobEvent[]
  >`SELECT * FROM job_event WHERE job_id = ${opts.id} ORDER BY id`;
  return { ...job, events };
}

/** Columns the list may sort by (an allow-list: user input never reaches SQL as an identifier). */
export const SORT_COLUMNS = [
  "created_at",
  "updated_at",
  "priority",
  "attempts",
  "scheduled_for",
  "status",
  "type",
] as const;
export type SortColumn = typeof SORT_COLUMNS[number];

/** Statuses in lifecycle order: `sort=status` follows it, not the alphabet. */
const STATUS_ORDER = ["pending", "processing", "completed", "failed", "cancelled"];

/** The ORDER BY key of an allow-listed sort column. */
function sortKey(sql: Sql, sort: SortColumn) {
  return sort === "status" ? sql`array_position(${STATUS_ORDER}::text[], status)` : sql(sort);
}

/** Filters, order and page of {@link list}. */
export interface ListQuery {
  status?: JobStatus[];
  type?: string[];
  priority?: number[];
  /** Free text: an exact id, or a substring of the payload's JSON text (case-insensitive). */
  q?: string;
  sort?: SortColumn;
  order?: "asc" | "desc";
  limit?: number;
  offset?: number;
}

/** A page of jobs and the number of all matching rows. */
export interface ListPage {
  items: Job[];
  total: number;
  limit: number;
  offset: number;
}

function listWhere(sql: Sql, q: ListQuery) {
  const parts = [];
  if (q.status?.length) parts.push(sql`status = ANY(${q.status})`);
  if (q.type?.length) parts.push(sql`type = ANY(${q.type})`);
  if (q.priority?.length) parts.push(sql`priority = ANY(${q.priority}::smallint[])`);
  const text = q.q?.trim();
  if (text) {
    const like = "%" + text.replace(/[\\%_]/g, (c) => "\\" + c) + "%";
    const asId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)
      ? text
      : null;
    parts.push(
      asId
        ? sql`(id = ${asId}::uuid OR payload::text ILIKE ${like})`
        : sql`(id::text ILIKE ${like} OR payload::text ILIKE ${like})`,
    );
  }
  if (parts.length === 0) return sql``;
  let where = sql`WHERE ${parts[0]}`;
  for (const p of parts.slice(1)) where = sql`${where} AND ${p}`;
  return where;
}

/**
 * A filtered, sorted page of jobs with the total count of matches. Sorting
 * ties break on `id` so pages never overlap. Limit is clamped to 1–100.
 */
export async function list(sql: Sql, q: ListQuery = {}): Promise<ListPage> {
  const limit = Math.min(100, Math.max(1, q.limit ?? 20));
  const offset = Math.max(0, q.offset ?? 0);
  const sort = SORT_COLUMNS.includes(q.sort as SortColumn) ? q.sort! : "created_at";
  const dir = q.order === "asc" ? sql`ASC` : sql`DESC`;
  const where = listWhere(sql, q);
  // Indexes: job_<column>_idx / job_status_created_idx / job_type_created_idx
  // serve the common filter + created_at sort. The total of a status/type
  // filter (or none) comes from the maintained counts (stats.countMatching,
  // migration 0002) instead of counting history; priority and text filters
  // count the matching rows. Sorting by status or type has no index: it is a
  // top-N sort of the matching rows.
  const countable = !q.priority?.length && !q.q?.trim();
  const [items, total] = await Promise.all([
    sql<Job[]>`SELECT * FROM job ${where} ORDER BY ${
      sortKey(sql, sort)
    } ${dir}, id ${dir} LIMIT ${limit} OFFSET ${offset}`,
    countable
      ? countMatching(sql, { status: q.status, type: q.type })
      : sql<{ total: number }[]>`SELECT count(*)::int AS total FROM job ${where}`.then((r) =>
        r[0].total
      ),
  ]);
  return { items, total, limit, offset };
}
