/**
 * Demo data: realistic jobs of every type, priority and status, spread over
 * the last few days, with the `job_event` rows their status implies — set-based
 * (`INSERT … SELECT generate_series`, one statement per chunk of rows, chunks
 * shared by a few connections), so ten million rows take minutes, not a loop
 * of round trips. The job table's own triggers keep the status counts, the
 * trend counts and the search rows, as for any other insert.
 */
import { indexSearchTail } from "./search_index.ts";
import type { Sql, TxSql } from "../db.ts";
import type { JobStatus } from "./types.ts";

/** Options of {@link seed}. */
export interface SeedOptions {
  /** How many jobs to insert (1 to {@link SEED_MAX_COUNT}). */
  count: number;
  /** Days back from now over which finished jobs were created (> 0, ≤ 3650). */
  spreadDays: number;
  /** Worker id recorded on seeded claims and leases (default `seed-worker`). */
  worker?: string;
  /** Lease length given to seeded processing jobs (default 30). */
  leaseSeconds?: number;
  /**
   * Connections inserting chunks at once (default 1; the pool must allow as
   * many). Two keep both cores of a small machine busy.
   */
  connections?: number;
  /** Jobs per statement (default {@link SEED_CHUNK}). */
  chunk?: number;
  /**
   * Write the seeded jobs' search rows before returning (default true).
   * False leaves them to the search indexer of a running worker or web
   * process (migration 0016), as for any enqueue: searches find the jobs
   * either way, through the tail, only more slowly until they are indexed.
   */
  indexSearch?: boolean;
}

/**
 * Jobs per statement: each statement sorts and holds its rows in memory
 * (work_mem below), so a chunk bounds memory and temp files at any count.
 */
export const SEED_CHUNK = 250_000;

/** The most jobs one {@link seed} call inserts. */
export const SEED_MAX_COUNT = 10_000_000;

/** What {@link seed} inserted. */
export interface SeedResult {
  jobs: number;
  events: number;
  /** Jobs per status (every status present, 0 when none). */
  byStatus: Record<JobStatus, number>;
  /** Jobs per type. */
  byType: Record<string, number>;
}

/**
 * Inserts `count` jobs and their events, all or none: a statement per chunk
 * of `chunk` jobs, the chunks dealt round-robin to `connections`
 * transactions, which commit together once every one has inserted its share
 * (when one fails, the others roll back; only a crash between their COMMITs
 * could keep some and not others). Two connections on two cores took 40 %
 * less time than one for the same CPU.
 *
 * The first 15 rows cover every type × status pair, so any `count` ≥ 15 has
 * them all; the rest are drawn at random: types email 50 %, notification 30 %,
 * report 20 %; priorities 1–5 weighted towards 3; statuses roughly completed
 * 80 %, pending 9 %, failed 7 %, cancelled 3 %, and a few dozen processing.
 * Finished jobs were created between `spreadDays` ago and two minutes ago;
 * pending jobs in the last hour (10 % of them due within the next hour, and
 * some waiting for a retry); processing jobs in the last ten minutes, leased
 * to `worker` until now plus `leaseSeconds` (so a running rescuer returns
 * them later, as after a crash). Payloads pass the job types' schemas.
 * Events: `created`, then `claimed` and `failed`/`completed` per attempt, or
 * `cancelled` — the timeline the worker would have written.
 */
export async function seed(sql: Sql, opts: SeedOptions): Promise<SeedResult> {
  if (!Number.isInteger(opts.count) || opts.count < 1 || opts.count > SEED_MAX_COUNT) {
    throw new RangeError(`count: expected a whole number from 1 to ${SEED_MAX_COUNT}`);
  }
  if (!(opts.spreadDays > 0 && opts.spreadDays <= 3650)) {
    throw new RangeError("spreadDays: expected a number of days above 0, at most 3650");
  }
  for (const [name, v] of [["connections", opts.connections], ["chunk", opts.chunk]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= SEED_MAX_COUNT)) {
      throw new RangeError(`${name}: expected a whole number from 1 to ${SEED_MAX_COUNT}`);
    }
  }
  const worker = opts.worker ?? "seed-worker";
  const lease = opts.leaseSeconds ?? 30;
  const spreadSecs = opts.spreadDays * 86_400;
  // About 32 processing jobs: a real queue has about as many as it has Web Workers.
  const pProcessing = Math.min(0.01, 32 / opts.count);
  const chunk = opts.chunk ?? SEED_CHUNK;
  const ranges: [number, number][] = [];
  for (let from = 1; from <= opts.count; from += chunk) {
    ranges.push([from, Math.min(opts.count, from + chunk - 1)]);
  }
  const n = Math.max(1, Math.min(opts.connections ?? 1, ranges.length));
  const shape = { worker, lease, spreadSecs, pProcessing, count: opts.count };
  const rows = (await allOrNone(
    sql,
    n,
    async (tx, k) => {
      const out: SeedRow[] = [];
      for (let r = k; r < ranges.length; r += n) {
        out.push(...await seedChunk(tx, { ...shape, from: ranges[r][0], to: ranges[r][1] }));
      }
      return out;
    },
  )).flat();
  // Each transaction's trigger-time compactions found the other holding the
  // try-lock (held until its commit), so the deltas of all but one are still
  // unfolded: fold them now, so the counts' readers start with small deltas.
  await sql`SELECT job_status_compact(), job_trend_compact()`;
  // The seeded jobs' search rows now, unless the caller leaves them to the
  // indexer: one connection, about as long again as the insert itself.
  if (opts.indexSearch ?? true) await indexSearchTail(sql);

  const byStatus = { pending: 0, processing: 0, completed: 0, failed: 0, cancelled: 0 };
  const byType: Record<string, number> = {};
  let jobs = 0;
  let events = 0;
  for (const r of rows) {
    byStatus[r.status] += r.jobs;
    byType[r.type] = (byType[r.type] ?? 0) + r.jobs;
    jobs += r.jobs;
    events += r.events;
  }
  return { jobs, events, byStatus, byType };
}

type SeedRow = { status: JobStatus; type: string; jobs: number; events: number };

/**
 * Runs `work` in `n` transactions at once (k = 0…n-1) and commits them only
 * after every one has finished its work; if any throws, the others roll back
 * and the first error is rethrown.
 */
async function allOrNone<T>(
  sql: Sql,
  n: number,
  work: (tx: TxSql, k: number) => Promise<T>,
): Promise<T[]> {
  let finished = 0;
  let failed = false;
  const { promise: settled, resolve } = Promise.withResolvers<void>();
  const results = await Promise.allSettled(
    Array.from({ length: n }, (_, k) =>
      sql.begin(async (tx) => {
        // The sorts below hold a chunk of narrow rows: in memory, not in temp
        // files. JIT would spend seconds compiling for the planner's wild row
        // estimates.
        await tx`SET LOCAL work_mem = '256MB'`;
        await tx`SET LOCAL jit = off`;
        let out: T;
        try {
          out = await work(tx, k);
        } catch (err) {
          failed = true;
          resolve();
          throw err;
        }
        if (++finished === n) resolve();
        await settled;
        if (failed) throw new SeedAborted();
        return out;
      }) as Promise<T>),
  );
  const errors = results.flatMap((r) => r.status === "rejected" ? [r.reason] : []);
  const cause = errors.find((e) => !(e instanceof SeedAborted)) ?? errors[0];
  if (cause) throw cause;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Rolls back a seed transaction whose sibling failed. */
class SeedAborted extends Error {
  override name = "SeedAborted";
}

/**
 * Inserts rows `from`..`to` of the series 1..`count` in one statement. Row i
 * of a finished job is created in the i-th of `count` equal slices of the
 * spread, so consecutive chunks follow each other in time and the
 * created_at, updated_at and id indexes of `job` and `job_event` take
 * appends, not inserts all over tables larger than the buffer cache.
 */
async function seedChunk(tx: TxSql, o: {
  count: number;
  from: number;
  to: number;
  worker: string;
  lease: number;
  spreadSecs: number;
  pProcessing: number;
}): Promise<SeedRow[]> {
  const { worker, lease, spreadSecs, pProcessing } = o;
  // Locks: only the new rows. Indexes: every index of job and job_event takes
  // the inserts; rows go in created_at order, so the created_at indexes
  // append instead of splitting pages all over.
  return await tx<SeedRow[]>`
    WITH draw AS (
      SELECT i, random() AS u_type, random() AS u_status, random() AS u_prio, random() AS u_age,
             random() AS u_att, random() AS u_dur, random() AS u_pick, (random() * 100000)::int AS n
      FROM generate_series(${o.from}::int, ${o.to}::int) AS i
    ), shape AS (
      SELECT d.*,
        CASE WHEN i <= 15 THEN (ARRAY['email', 'notification', 'report'])[(i - 1) % 3 + 1]
             WHEN u_type < 0.5 THEN 'email' WHEN u_type < 0.8 THEN 'notification' ELSE 'report'
        END AS type,
        CASE WHEN i <= 15
               THEN (ARRAY['completed', 'failed', 'cancelled', 'pending', 'processing'])[(i - 1) / 3 + 1]
             WHEN u_status < ${pProcessing} THEN 'processing'
             WHEN u_status < ${pProcessing} + 0.09 THEN 'pending'
             WHEN u_status < ${pProcessing} + 0.12 THEN 'cancelled'
             WHEN u_status < ${pProcessing} + 0.19 THEN 'failed'
             ELSE 'completed'
        END AS status,
        CASE WHEN u_prio < 0.1 THEN 1 WHEN u_prio < 0.25 THEN 2 WHEN u_prio < 0.75 THEN 3
             WHEN u_prio < 0.9 THEN 4 ELSE 5 END::smallint AS priority,
        1 + (u_dur * 40)::int AS queue_secs,
        make_interval(secs => 0.05 + u_dur * u_dur * 4) AS run
      FROM draw d
    ), timed AS (
      SELECT s.*,
        CASE status
          WHEN 'processing' THEN now() - make_interval(secs => 60 + u_age * 540)
          WHEN 'pending'
            THEN now() - make_interval(secs => 120 + u_age * greatest(least(3600, ${spreadSecs}::float8) - 120, 0))
          ELSE now() - make_interval(secs => 120
            + (1 - (i - 1 + u_age) / ${o.count}::float8) * greatest(${spreadSecs}::float8 - 120, 0))
        END AS created_at,
        CASE status
          WHEN 'completed' THEN CASE WHEN u_att < 0.9 THEN 1 WHEN u_att < 0.98 THEN 2 ELSE 3 END
          WHEN 'failed' THEN 3
          WHEN 'processing' THEN CASE WHEN u_att < 0.9 THEN 1 ELSE 2 END
          WHEN 'pending' THEN CASE WHEN u_att < 0.8 THEN 0 ELSE 1 END
          ELSE 0
        END AS attempts,
        (ARRAY['SMTP 451 4.7.1 try again later', 'webhook answered 503 Service Unavailable',
               'connect ETIMEDOUT 10.0.0.7:587', 'report query canceled: statement timeout'])
          [1 + (n % 4)] AS err
      FROM shape s
    ), job_rows AS MATERIALIZED (
      -- A time-ordered id (UUIDv7 layout: the creation millisecond, then random
      -- bits) keeps the primary key's inserts in order too.
      SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
               PLACING substring(int8send((extract(epoch FROM t.created_at) * 1000)::bigint) FROM 3)
               FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid AS id,
        t.*,
        -- attempt k is claimed at claim_k = created_at + queue + (k-1)·(run + backoff 2^k s)
        -- and ends at claim_k + run.
        t.created_at + make_interval(secs => queue_secs) AS first_claim,
        t.created_at + make_interval(secs => queue_secs)
          + (greatest(attempts, 1) - 1) * (run + make_interval(secs => 2 ^ greatest(attempts, 1)))
          AS last_claim
      FROM timed t
      ORDER BY t.created_at
    ), ins AS (
      INSERT INTO job (id, type, status, priority, payload, result, error, attempts, max_attempts,
        created_at, updated_at, scheduled_for, started_at, completed_at, locked_by, locked_until)
      SELECT id, type, status, priority,
        CASE type
          WHEN 'email' THEN jsonb_build_object(
            'to', 'user' || n || '@example.com',
            'subject', (ARRAY['Welcome aboard', 'Your invoice', 'Password reset', 'Weekly digest',
                              'Order shipped'])[1 + (n % 5)],
            'body', 'Hello user ' || n || E',\n\nthis is a seeded message.\n\n— jobq')
          WHEN 'notification' THEN jsonb_build_object(
            'user_id', 'user-' || n,
            'channel', (ARRAY['push', 'sms', 'email'])[1 + (n % 3)],
            'message', (ARRAY['Your report is ready.', 'New sign-in from a new device.',
                              'Your order has shipped.', 'You have a new follower.'])[1 + (n % 4)])
          ELSE jsonb_build_object(
            'report_type', (ARRAY['job_summary', 'failures', 'throughput'])[1 + (n % 3)],
            'format', (ARRAY['csv', 'pdf'])[1 + (n % 2)],
            'date_range', jsonb_build_object(
              'from', to_char(created_at - interval '7 days', 'YYYY-MM-DD'),
              'to', to_char(created_at, 'YYYY-MM-DD')))
        END,
        CASE WHEN status = 'completed' THEN jsonb_build_object('seeded', true,
          'ms', (extract(epoch FROM run) * 1000)::int) END,
        CASE WHEN status = 'failed' OR (status = 'pending' AND attempts > 0) THEN err END,
        attempts, 3,
        created_at,
        CASE status
          WHEN 'pending' THEN CASE WHEN attempts > 0 THEN last_claim + run ELSE created_at END
          WHEN 'processing' THEN last_claim
          WHEN 'cancelled' THEN created_at + make_interval(secs => queue_secs)
          ELSE last_claim + run
        END,
        CASE
          WHEN status = 'pending' AND attempts > 0 THEN now() + make_interval(secs => 60 + u_pick * 600)
          WHEN status = 'pending' AND u_pick < 0.1 THEN now() + make_interval(secs => u_pick * 36000)
          ELSE created_at
        END,
        CASE WHEN attempts > 0 THEN last_claim END,
        CASE WHEN status = 'completed' THEN last_claim + run END,
        CASE WHEN status = 'processing' THEN ${worker} END,
        CASE WHEN status = 'processing' THEN now() + make_interval(secs => ${lease}) END
      FROM job_rows
    ), ev AS (
      -- One pass over the jobs in created_at order, each job's events in
      -- time order (no sort of millions of events): created, cancelled?,
      -- then per attempt k its claim (odd s) and its outcome (even s) —
      -- all but a processing job's current outcome.
      INSERT INTO job_event (job_id, at, kind, attempt, worker, message)
      SELECT j.id, e.at, e.kind, e.attempt, e.worker, e.message
      FROM job_rows j CROSS JOIN LATERAL (
        SELECT j.created_at AS at, 'created'::text AS kind, 0 AS attempt, NULL::text AS worker,
               NULL::text AS message
        UNION ALL
        SELECT j.created_at + make_interval(secs => j.queue_secs), 'cancelled', 0, NULL,
               'cancelled by seed'
        WHERE j.status = 'cancelled'
        UNION ALL
        SELECT j.first_claim + ((s - 1) / 2) * (j.run + make_interval(secs => 2 ^ j.attempts))
                 + CASE WHEN s % 2 = 0 THEN j.run ELSE interval '0' END,
               CASE WHEN s % 2 = 1 THEN 'claimed'
                    WHEN s = 2 * j.attempts AND j.status = 'completed' THEN 'completed'
                    ELSE 'failed' END,
               (s + 1) / 2, ${worker}::text,
               CASE WHEN s % 2 = 1 OR (s = 2 * j.attempts AND j.status = 'completed') THEN NULL
                    WHEN s = 2 * j.attempts AND j.status = 'failed' THEN j.err
                    ELSE j.err || ' (retry scheduled)' END
        FROM generate_series(1, 2 * j.attempts - (j.status = 'processing')::int) AS s
      ) e
    )
    -- Events per job: created, cancelled?, claimed × attempts, an outcome per
    -- finished attempt (all but a processing job's current one).
    SELECT status, type, count(*)::int AS jobs,
      sum(1 + (status = 'cancelled')::int + 2 * attempts - (status = 'processing')::int)::int
        AS events
    FROM job_rows GROUP BY status, type`;
}
