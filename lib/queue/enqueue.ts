/**
 * Producers: one job, or many in one statement. A job's `created` step is its
 * row (migration 0023): only an enqueue with a message writes an event.
 * A job with a `unique_key` is not stored while a pending or processing job
 * has that key: the enqueue answers with that job instead (`existed`).
 */
import type { Sql, TxSql } from "../db.ts";
import { at, type Instant } from "./clock.ts";
import type { Job } from "./types.ts";
import { defaultQueueOf } from "../jobs/mod.ts";
import { type Actor, byline, record } from "./audit.ts";

/** What a producer supplies for a new job; defaults as in the schema. */
export interface NewJob {
  type: string;
  payload: unknown;
  priority?: number;
  max_attempts?: number;
  /** Not before this instant (default: now). */
  scheduled_for?: Date | string | null;
  /**
   * The job's named queue (default: its type's default queue, else
   * `default`); its `queue` row is added with the job if new.
   */
  queue?: string;
  /** While a pending or processing job has this key, enqueueing returns that job (1–255 chars). */
  unique_key?: string | null;
  /** Bound of one attempt in seconds (1–86400; default: the type's timeout). */
  timeout_seconds?: number | null;
  /** Not started by then → never run: cancelled with an `expired` event. */
  expires_at?: Date | string | null;
}

/** One enqueue's answer: the job, and whether it was there already (same `unique_key`). */
export interface Enqueued {
  job: Job;
  existed: boolean;
}

/** A batch enqueue's answer: `jobs[i]` answers input `i`; `existed[i]` as in {@link Enqueued}. */
export interface EnqueuedBatch {
  jobs: Job[];
  existed: boolean[];
}

/**
 * `NOTIFY channel` inside the enqueue's own statement, for a producer with
 * nothing else in flight: workers wake as the row commits, one round trip
 * sooner than a NOTIFY sent after the commit. A notifying commit takes a
 * cluster-wide lock, so busy producers leave it out and poke a coalescing
 * {@link Notifier} instead (see {@link InlineNotify}).
 */
function notifying(sql: Sql | TxSql, channel: string | null | undefined) {
  return channel ? sql`CROSS JOIN LATERAL (SELECT pg_notify(${channel}, '')) AS n` : sql``;
}

/**
 * The `created` event of each row of `ins` when the enqueue has something to
 * say of it (`message`: an operator's create, a schedule's run), as a CTE
 * after a comma. Without one nothing is written: the job's row holds all its
 * `created` step says, and readers make the step from the row (the
 * `job_timeline` view, migration 0023).
 */
function createdEvents(sql: Sql | TxSql, message: string | null | undefined) {
  return message
    ? sql`, ev AS (
        INSERT INTO job_event (job_id, at, kind, attempt, message)
        SELECT id, created_at, 'created', 0, ${message} FROM ins
      )`
    : sql``;
}

/**
 * A condition for the enqueue's final SELECT from `ins`: true, and on its
 * first row it takes the next value of job_event's id sequence once, as the
 * `created` event rows did, so a new job still moves the timeline's
 * position that the live feed polls while it cannot LISTEN
 * (events.ts, `lastId`). An enqueue that stores nothing takes none.
 */
function movesTimeline(sql: Sql | TxSql) {
  return sql`(SELECT nextval('job_event_id_seq'::regclass)) > 0`;
}

/**
 * Inserts one pending job in one statement, and
 * returns the stored row; with a `unique_key` that a pending or processing
 * job holds, returns that job instead (see {@link enqueueUnique}). With
 * `notify`, the statement also sends `NOTIFY <notify>` (see {@link InlineNotify}).
 */
export async function enqueue(
  sql: Sql,
  opts: { job: NewJob; now?: Date | null; notify?: string | null },
): Promise<Job> {
  return (await enqueueUnique(sql, opts)).job;
}

/**
 * Like {@link enqueue}, and says whether the job `existed`: with a
 * `unique_key` held by a pending or processing job, nothing is stored and
 * that job is returned (`existed: true`). Race-free: the partial unique index
 * `job_unique_active_idx` decides, not a read before the insert. `sql` may be
 * a transaction.
 */
export async function enqueueUnique(
  sql: Sql | TxSql,
  opts: { job: NewJob; now?: Date | null; notify?: string | null; message?: string | null },
): Promise<Enqueued> {
  const j = opts.job;
  if (j.unique_key) {
    const r = await inTransaction(
      sql,
      (tx) => enqueueKeyed(tx, [j], at(tx, opts.now), opts.notify, opts.message),
    );
    return { job: r.jobs[0], existed: r.existed[0] };
  }
  const t = at(sql, opts.now);
  const [payload, priority, maxAttempts] = [
    sql.json(j.payload as never),
    j.priority ?? 3,
    j.max_attempts ?? 3,
  ];
  const [scheduledFor, timeout, expiresAt] = [
    j.scheduled_for ?? null,
    j.timeout_seconds ?? null,
    j.expires_at ?? null,
  ];
  // Locks nothing beyond the new row; serves no index lookups.
  const [row] = await sql<Job[]>`
    WITH ins AS (
      INSERT INTO job (type, payload, priority, max_attempts, scheduled_for, timeout_seconds, expires_at,
                       created_at, updated_at, queue)
      VALUES (${j.type}, ${payload}, ${priority}, ${maxAttempts}, coalesce(${scheduledFor}::timestamptz, ${t}),
              ${timeout}::int, ${expiresAt}::timestamptz, ${t}, ${t}, ${
    j.queue ?? defaultQueueOf(j.type)
  })
      RETURNING *
    )${createdEvents(sql, opts.message)}
    SELECT ins.* FROM ins ${notifying(sql, opts.notify)} WHERE ${movesTimeline(sql)}`;
  return { job: row, existed: false };
}

/**
 * An operator's create from the dashboard's form: {@link enqueueUnique}, the
 * `created` event saying "created from the form by …", and a `job.create`
 * audit entry, in one transaction. A unique key held by another job creates
 * nothing and writes no entry (`existed`).
 */
export async function enqueueFromForm(
  sql: Sql,
  opts: { job: NewJob; actor: Actor; now?: Date | null },
): Promise<Enqueued> {
  return await sql.begin(async (tx: TxSql) => {
    const r = await enqueueUnique(tx, {
      job: opts.job,
      now: opts.now,
      message: `created from the form ${byline(opts.actor)}`,
    });
    if (!r.existed) {
      await record(tx, {
        actor: opts.actor,
        action: "job.create",
        jobIds: [r.job.id],
        count: 1,
        details: { type: r.job.type, queue: r.job.queue },
        now: opts.now,
      });
    }
    return r;
  }) as Enqueued;
}

/**
 * Inserts many jobs in one statement: all or
 * none. Returns the rows in input order; an item whose `unique_key` a
 * pending or processing job holds (or an earlier item of the list) answers
 * with that job (see {@link enqueueBatchUnique}). An empty list inserts nothing.
 */
export async function enqueueBatch(
  sql: Sql | TxSql,
  opts: { jobs: NewJob[]; now?: Date | null; notify?: string | null },
): Promise<Job[]> {
  return (await enqueueBatchUnique(sql, opts)).jobs;
}

/** An instant as the statement's text arrays carry it (ISO 8601), or null. */
function instantText(v: Date | string | null | undefined): string | null {
  return v == null ? null : v instanceof Date ? v.toISOString() : v;
}

/**
 * The CTE `input`: one row per job, in order (`ord` from 1). Every column
 * travels the cheapest way its values allow: one parameter when all jobs
 * agree (the usual batch: one type, one queue, default priority), else a
 * typed array read through `ROWS FROM` with the payloads (one jsonb array),
 * matched by position. The optional columns are NULL when no job sets them.
 *
 * `type` and `queue` are domains whose name rules are regular expressions;
 * converting each row's text to the domain ran both once per job (about a
 * fifth of the statement's backend CPU). Here each distinct name is
 * converted once, in a subquery over the distinct names that runs once per
 * statement (an InitPlan), and a row takes its name from that array by
 * index: a value that is already of the domain's type is not checked again.
 * A bad name still fails the statement with the same check_violation.
 *
 * `withIds`: each row also gets its new job's id, materialised once, so the
 * inserted rows can be matched to their input rows by id.
 */
function inputCte(sql: Sql | TxSql, list: NewJob[], withIds: boolean) {
  const arrays: Instant[] = [];
  const names: string[] = [];
  /** `values` as one scalar parameter when all are equal, else an array column of `ROWS FROM`. */
  const column = (name: string, values: unknown[], type: Instant) => {
    if (values.every((v) => v === values[0])) {
      return values[0] == null ? sql`NULL` : sql`${values[0] as string}::${type}`;
    }
    arrays.push(sql`unnest(${values as string[]}::${type}[])`);
    names.push(name);
    return sql`u.${sql(name)}`;
  };
  /** A domain-typed name per job: the distinct names converted once, then picked by index. */
  const named = (name: string, values: string[], domain: Instant) => {
    const distinct = [...new Set(values)];
    const index = new Map(distinct.map((v, i) => [v, i + 1]));
    const pick = column(`${name}_i`, values.map((v) => index.get(v)), sql`int`);
    return sql`(SELECT array_agg(d.v::${domain} ORDER BY d.o)
                FROM unnest(${distinct}::text[]) WITH ORDINALITY AS d(v, o))[${pick}]`;
  };
  const type = named("type", list.map((j) => j.type), sql`job_type_name`);
  const queue = named("queue", list.map((j) => j.queue ?? defaultQueueOf(j.type)), sql`queue_name`);
  const priority = column("priority", list.map((j) => j.priority ?? 3), sql`smallint`);
  const maxAttempts = column("max_attempts", list.map((j) => j.max_attempts ?? 3), sql`int`);
  const scheduled = column(
    "scheduled_for",
    list.map((j) => instantText(j.scheduled_for)),
    sql`timestamptz`,
  );
  const key = column("unique_key", list.map((j) => j.unique_key || null), sql`text`);
  const timeout = column("timeout_seconds", list.map((j) => j.timeout_seconds ?? null), sql`int`);
  const expires = column(
    "expires_at",
    list.map((j) => instantText(j.expires_at)),
    sql`timestamptz`,
  );
  arrays.push(sql`jsonb_array_elements(${sql.json(list.map((j) => j.payload ?? null) as never)})`);
  names.push("payload");
  return sql`input AS ${withIds ? sql`MATERIALIZED` : sql``} (
      SELECT u.ord, ${withIds ? sql`gen_random_uuid() AS id,` : sql``} ${type} AS type, u.payload,
             ${priority}::smallint AS priority, ${maxAttempts}::int AS max_attempts,
             ${scheduled}::timestamptz AS scheduled_for, ${key}::text AS unique_key,
             ${timeout}::int AS timeout_seconds, ${expires}::timestamptz AS expires_at, ${queue} AS queue
      FROM ROWS FROM (${arrays.reduce((a, b) => sql`${a}, ${b}`)})
        WITH ORDINALITY AS u(${sql(names)}, ord)
    )`;
}

/**
 * Like {@link enqueueBatch}, and says which items `existed`. Without any
 * `unique_key` it is one statement. With keys, in one transaction (or the
 * caller's): an `INSERT … ON CONFLICT DO NOTHING` on the partial unique
 * index stores the items whose key is free (in key order, so concurrent
 * batches take keys in one order), then one read finds the pending or
 * processing jobs that hold the other items' keys — committed by others, or
 * inserted by an earlier item of this list. An item whose holder finished
 * in between is inserted again (its key is free now).
 */
export async function enqueueBatchUnique(
  sql: Sql | TxSql,
  opts: { jobs: NewJob[]; now?: Date | null; notify?: string | null },
): Promise<EnqueuedBatch> {
  const list = opts.jobs;
  if (list.length === 0) return { jobs: [], existed: [] };
  if (!list.some((j) => j.unique_key)) {
    const rows = await insertPlain<Job>(sql, list, at(sql, opts.now), opts.notify, false);
    return { jobs: rows, existed: rows.map(() => false) };
  }
  return await inTransaction(sql, (tx) => enqueueKeyed(tx, list, at(tx, opts.now), opts.notify));
}

/**
 * Like {@link enqueueBatch}, for a producer that needs only the ids: the ids
 * of the stored jobs in input order (an item whose `unique_key` a pending or
 * processing job holds answers with that job's id). Without keys, one
 * statement whose answer is one row with the ids joined by commas (in
 * insert order, which is input order): one value to receive and split, not a
 * row per job to parse (a fifth of the producer's CPU per batch).
 */
export async function enqueueMany(
  sql: Sql | TxSql,
  opts: { jobs: NewJob[]; now?: Date | null; notify?: string | null },
): Promise<string[]> {
  const list = opts.jobs;
  if (list.length === 0) return [];
  if (list.some((j) => j.unique_key)) {
    return (await enqueueBatchUnique(sql, opts)).jobs.map((j) => j.id);
  }
  const [{ ids }] = await insertPlain<{ ids: string }>(
    sql,
    list,
    at(sql, opts.now),
    opts.notify,
    true,
  );
  return ids.split(",");
}

/**
 * The keyless batch: one statement inserts the jobs in input order and
 * returns each job's row, or with `idsOnly` its id, in order. The insert's
 * returned rows are held in memory for the answer: with `idsOnly` only the
 * ids, not whole rows with their payloads.
 * Locks nothing beyond the new rows; serves no index lookups.
 */
async function insertPlain<T extends object>(
  sql: Sql | TxSql,
  list: NewJob[],
  t: Instant,
  notify: string | null | undefined,
  idsOnly: boolean,
): Promise<T[]> {
  return await sql<T[]>`
    WITH ${inputCte(sql, list, false)}, ins AS (
      INSERT INTO job (type, payload, priority, max_attempts, scheduled_for, timeout_seconds,
                       expires_at, created_at, updated_at, queue)
      SELECT type, payload, priority, max_attempts, coalesce(scheduled_for, ${t}), timeout_seconds,
             expires_at, ${t}, ${t}, queue
      FROM input ORDER BY ord
      RETURNING ${idsOnly ? sql`id` : sql`*`}
    )
    SELECT ${idsOnly ? sql`string_agg(ins.id::text, ',') AS ids` : sql`ins.*`} FROM ins ${
    notifying(sql, notify)
  } WHERE ${movesTimeline(sql)}` as T[];
}

/** Runs `fn` in a transaction, or in the caller's when `sql` is one already. */
async function inTransaction<T>(sql: Sql | TxSql, fn: (tx: Sql | TxSql) => Promise<T>) {
  if (typeof (sql as TxSql).savepoint === "function") return await fn(sql);
  return await (sql as Sql).begin((tx) => fn(tx)) as T;
}

/** Most insert-then-read rounds of one keyed enqueue (a holder finishing each time). */
const MAX_ROUNDS = 8;

async function enqueueKeyed(
  tx: Sql | TxSql,
  list: NewJob[],
  t: Instant,
  notify: string | null | undefined,
  message?: string | null,
): Promise<EnqueuedBatch> {
  const out: (Job | undefined)[] = new Array(list.length);
  const existed: boolean[] = list.map(() => false);
  let todo = list.map((_, i) => i);
  for (let round = 0; todo.length > 0; round++) {
    if (round === MAX_ROUNDS) {
      throw new Error(`enqueue: unique keys kept changing hands (${todo.length} jobs unresolved)`);
    }
    const part = todo.map((i) => list[i]);
    // Locks: the new rows, and (waiting) any uncommitted row that holds one of the keys.
    const rows = await tx<(Job & { ord: string })[]>`
      WITH ${inputCte(tx, part, true)}, ins AS (
        INSERT INTO job (id, type, payload, priority, max_attempts, scheduled_for, timeout_seconds,
                         expires_at, unique_key, created_at, updated_at, queue)
        SELECT id, type, payload, priority, max_attempts, coalesce(scheduled_for, ${t}), timeout_seconds,
               expires_at, unique_key, ${t}, ${t}, queue
        FROM input ORDER BY unique_key NULLS FIRST, ord
        ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND status IN ('pending', 'processing')
        DO NOTHING
        RETURNING *
      )${createdEvents(tx, message)}
      SELECT ins.*, input.ord FROM ins JOIN input USING (id) ${notifying(tx, notify)}
      WHERE ${movesTimeline(tx)}`;
    for (const { ord, ...row } of rows) out[todo[Number(ord) - 1]] = row as Job;
    const missing = todo.filter((i) => !out[i]);
    if (missing.length === 0) break;
    const keys = [...new Set(missing.map((i) => list[i].unique_key as string))];
    // A new statement, so a new snapshot: it sees the holders committed since the insert began.
    // Index: job_unique_active_idx.
    const holders = await tx<Job[]>`
      SELECT * FROM job
      WHERE unique_key = ANY(${keys}::text[]) AND unique_key IS NOT NULL
        AND status IN ('pending', 'processing')`;
    const byKey = new Map(holders.map((h) => [h.unique_key as string, h]));
    for (const i of missing) {
      const h = byKey.get(list[i].unique_key as string);
      if (h) {
        out[i] = h;
        existed[i] = true;
      }
    }
    todo = missing.filter((i) => !out[i]);
  }
  return { jobs: out as Job[], existed };
}
