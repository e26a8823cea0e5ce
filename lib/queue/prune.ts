/**
 * Retention: deletes finished jobs (completed, failed, cancelled) that
 * finished before a cutoff — one for all, or one per state
 * (`RETAIN_COMPLETED`, `RETAIN_FAILED`, `RETAIN_CANCELLED`) — with their
 * `job_event` and `job_artifact` rows,
 * in short batches — each one statement in its own transaction, locking only
 * the rows it deletes and passing over rows someone else holds — so claims,
 * completions and dashboard reads never wait behind a long delete.
 */
import type { Sql, TxSql } from "../db.ts";
import { log } from "../log.ts";
import { PRUNE_LOCK_KEY } from "./lock_keys.ts";
import * as audit from "./audit.ts";

/** Statuses a job never leaves on its own; only these are pruned. */
export const FINISHED_STATUSES = ["completed", "failed", "cancelled"] as const;
export type FinishedStatus = typeof FINISHED_STATUSES[number];

/** How long finished jobs are kept, per state (milliseconds; 0 = forever). */
export type Retention = Record<FinishedStatus, number>;

/** Cutoffs per state (`null`: that state is kept forever). */
export type Cutoffs = Record<FinishedStatus, Date | null>;

/** Default rows per batch: short enough to commit in well under a second. */
export const PRUNE_BATCH_SIZE = 5000;

/** Rows deleted (or, for a dry run, that would be). */
export interface PruneCounts {
  jobs: number;
  events: number;
  artifacts: number;
}

/** The cutoff instant: `olderThanMs` before `now` (`null`: the database clock). */
async function cutoffOf(sql: Sql, olderThanMs: number, now?: Date | null): Promise<Date> {
  const [{ cutoff }] = now
    ? await sql<{ cutoff: Date }[]>`
      SELECT ${now}::timestamptz - make_interval(secs => ${olderThanMs / 1000}) AS cutoff`
    : await sql<{ cutoff: Date }[]>`
      SELECT now() - make_interval(secs => ${olderThanMs / 1000}) AS cutoff`;
  return cutoff;
}

/**
 * Counts what {@link prune} would delete for `cutoff`, deleting nothing.
 * Index: job_updated_idx (range scan below the cutoff); events and
 * artifacts by job_event_job_idx and job_artifact's primary key.
 */
export async function countPrunable(
  sql: Sql,
  opts: { cutoff: Date } | { cutoffs: Cutoffs },
): Promise<PruneCounts> {
  const where = "cutoff" in opts
    ? sql`updated_at < ${opts.cutoff} AND status IN ('completed', 'failed', 'cancelled')`
    : sql`(${byState(sql, opts.cutoffs)})`;
  const [row] = await sql<PruneCounts[]>`
    WITH doomed AS (SELECT id FROM job WHERE ${where})
    SELECT (SELECT count(*)::int FROM doomed) AS jobs,
      (SELECT count(*)::int FROM job_event e JOIN doomed d ON e.job_id = d.id) AS events,
      (SELECT count(*)::int FROM job_artifact a JOIN doomed d ON a.job_id = d.id) AS artifacts`;
  return row;
}

/** `status = … AND finished < cutoff` for each state with a cutoff, OR-ed (false when none). */
function byState(sql: Sql | TxSql, cutoffs: Cutoffs) {
  const parts = FINISHED_STATUSES.filter((s) => cutoffs[s]).map((s) =>
    sql`(status = ${s} AND ${finishedAt(sql, s)} < ${cutoffs[s] as Date})`
  );
  return parts.reduce((a, b) => sql`${a} OR ${b}`, sql`false`);
}

/**
 * The column that says when a job of `status` finished, as its index has it:
 * completed_at (job_completed_at_idx), else updated_at (failed:
 * job_failed_at_idx; cancelled: job_cancelled_created_idx, a small part of
 * history).
 */
function finishedAt(sql: Sql | TxSql, status: FinishedStatus) {
  return status === "completed" ? sql`completed_at` : sql`updated_at`;
}

/**
 * Deletes up to `limit` finished jobs whose `updated_at` (the instant they
 * finished) is before `cutoff`, oldest first, with their events and
 * artifacts, in one statement. With `status`, only jobs of that state (by
 * the index of that state, in no particular order). Locks: the chosen job rows (FOR UPDATE SKIP
 * LOCKED: a row another transaction holds — a manual retry, a bulk action —
 * is passed over, not waited for) and the events and artifacts it deletes.
 * Index: job_updated_idx read from the oldest end, so the LIMIT stops the
 * scan early. Returns the counts; `jobs` below `limit` means nothing
 * (unlocked) is left.
 */
export async function pruneBatch(
  sql: Sql | TxSql,
  opts: { cutoff: Date; limit?: number; status?: FinishedStatus },
): Promise<PruneCounts> {
  const st = opts.status;
  const chosen = st
    ? sql`WHERE status = ${st} AND ${finishedAt(sql, st)} < ${opts.cutoff}`
    : sql`WHERE updated_at < ${opts.cutoff} AND status IN ('completed', 'failed', 'cancelled')
      ORDER BY updated_at`;
  const [row] = await sql<PruneCounts[]>`
    WITH doomed AS (
      SELECT id FROM job ${chosen}
      LIMIT ${opts.limit ?? PRUNE_BATCH_SIZE}
      FOR UPDATE SKIP LOCKED
    ), ev AS (
      DELETE FROM job_event WHERE job_id IN (SELECT id FROM doomed) RETURNING 1
    ), art AS (
      DELETE FROM job_artifact WHERE job_id IN (SELECT id FROM doomed) RETURNING 1
    ), del AS (
      DELETE FROM job WHERE id IN (SELECT id FROM doomed) RETURNING 1
    )
    SELECT (SELECT count(*)::int FROM del) AS jobs, (SELECT count(*)::int FROM ev) AS events,
      (SELECT count(*)::int FROM art) AS artifacts`;
  return row;
}

/** Options of {@link prune}: `olderThanMs` or `retain`. */
export interface PruneOptions {
  /** Delete jobs that finished more than this many milliseconds ago (> 0), whatever their state. */
  olderThanMs?: number;
  /** Per state: delete jobs that finished longer ago than this (ms; 0 keeps them). */
  retain?: Retention;
  /** Jobs per batch (default {@link PRUNE_BATCH_SIZE}). */
  batchSize?: number;
  /** Count instead of deleting. */
  dryRun?: boolean;
  /** Milliseconds to wait between batches (default 0). */
  pauseMs?: number;
  /** The current instant; `null` (default) means the database clock. */
  now?: Date | null;
  /**
   * Take turns with other pruners: each batch first tries the advisory lock
   * {@link PRUNE_LOCK_KEY} for its transaction and the run stops when
   * another pruner holds it (default false).
   */
  exclusive?: boolean;
  /** Stops the run between batches. */
  signal?: AbortSignal;
  /** Called after every batch with the running totals. */
  onBatch?: (totals: PruneCounts & { batches: number }) => void;
}

/** What {@link prune} did. */
export interface PruneResult extends PruneCounts {
  /** Jobs that finished before this instant were chosen (null: the states' cutoffs differ). */
  cutoff: Date | null;
  /** The cutoff of each state (null: kept forever). */
  cutoffs: Cutoffs;
  /** Transactions committed (0 for a dry run). */
  batches: number;
  dryRun: boolean;
  /** True when the run ended early (signal, or another pruner's turn). */
  stopped: boolean;
  /** Audit entries deleted (the in-worker pruner with `retainAuditMs` only). */
  audit?: number;
}

/**
 * Deletes every finished job that finished more than `olderThanMs` ago, with
 * its events and artifacts, batch after batch until a batch comes back short.
 * Pending and processing jobs are never touched, whatever their age; a job
 * retried by hand is pending again and so kept. With `dryRun` it only
 * counts. Nothing to delete: all counts 0.
 */
export async function prune(sql: Sql, opts: PruneOptions): Promise<PruneResult> {
  const retain = retentionOf(opts);
  const limit = opts.batchSize ?? PRUNE_BATCH_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
    throw new RangeError("batchSize: expected a whole number from 1 to 100000");
  }
  const cutoffs = {} as Cutoffs;
  for (const s of FINISHED_STATUSES) {
    cutoffs[s] = retain[s] > 0 ? await cutoffOf(sql, retain[s], opts.now) : null;
  }
  const kept = FINISHED_STATUSES.filter((s) => cutoffs[s]);
  const uniform = kept.length === FINISHED_STATUSES.length &&
    new Set(kept.map((s) => retain[s])).size === 1;
  const cutoff = uniform ? cutoffs.completed : null;
  if (opts.dryRun) {
    const counts = await countPrunable(sql, cutoff ? { cutoff } : { cutoffs });
    return { ...counts, cutoff, cutoffs, batches: 0, dryRun: true, stopped: false };
  }
  const total = { jobs: 0, events: 0, artifacts: 0, batches: 0 };
  let stopped = false;
  // One pass over every state with one cutoff, else a pass per state.
  const passes: { cutoff: Date; status?: FinishedStatus }[] = cutoff
    ? [{ cutoff }]
    : kept.map((s) => ({ cutoff: cutoffs[s] as Date, status: s }));
  for (const pass of passes) {
    while (!stopped) {
      if (opts.signal?.aborted) {
        stopped = true;
        break;
      }
      const batch = { ...pass, limit };
      const got = opts.exclusive
        ? await sql.begin(async (tx) => {
          const [{ ok }] = await tx<{ ok: boolean }[]>`
            SELECT pg_try_advisory_xact_lock(${PRUNE_LOCK_KEY}) AS ok`;
          return ok ? await pruneBatch(tx, batch) : null;
        }) as PruneCounts | null
        : await pruneBatch(sql, batch);
      if (!got) {
        stopped = true;
        break;
      }
      total.jobs += got.jobs;
      total.events += got.events;
      total.artifacts += got.artifacts;
      if (got.jobs > 0) total.batches++;
      opts.onBatch?.({ ...total });
      if (got.jobs < limit) break;
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  }
  return { ...total, cutoff, cutoffs, dryRun: false, stopped };
}

/** The retention {@link prune} applies: `retain`, or `olderThanMs` for every state. */
function retentionOf(opts: { olderThanMs?: number; retain?: Retention }): Retention {
  if (opts.retain) {
    for (const s of FINISHED_STATUSES) {
      const ms = opts.retain[s];
      if (!(Number.isFinite(ms) && ms >= 0)) {
        throw new RangeError(`retain.${s}: expected milliseconds, 0 or more`);
      }
    }
    return opts.retain;
  }
  const ms = opts.olderThanMs ?? 0;
  if (!(ms > 0)) throw new RangeError("olderThanMs: expected more than 0");
  return { completed: ms, failed: ms, cancelled: ms };
}

/** True when `retain` deletes anything (some state is not kept forever). */
export function prunesAnything(retain: Retention): boolean {
  return FINISHED_STATUSES.some((s) => retain[s] > 0);
}

/**
 * Deletes audit entries older than `olderThanMs`, batch after batch (each
 * batch its own transaction, taking turns with other pruners through
 * {@link PRUNE_LOCK_KEY}); returns how many. Stops at a short batch, at the
 * signal, or when another pruner holds the lock.
 */
export async function pruneAudit(
  sql: Sql,
  opts: { olderThanMs: number; batchSize: number; pauseMs?: number; signal?: AbortSignal },
): Promise<number> {
  let total = 0;
  while (!opts.signal?.aborted) {
    const got = await sql.begin(async (tx) => {
      const [{ ok }] = await tx<{ ok: boolean }[]>`
        SELECT pg_try_advisory_xact_lock(${PRUNE_LOCK_KEY}) AS ok`;
      return ok
        ? await audit.prune(tx as unknown as Sql, {
          olderThanMs: opts.olderThanMs,
          batch: opts.batchSize,
        })
        : null;
    }) as number | null;
    if (got === null) break;
    total += got;
    if (got < opts.batchSize) break;
    if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
  }
  return total;
}

/** Options of {@link startPruner}. */
export interface PrunerOptions {
  /** Keep finished jobs this long (milliseconds, > 0), whatever their state; or `retain`. */
  olderThanMs?: number;
  /** Keep finished jobs this long per state (milliseconds; 0 = forever). */
  retain?: Retention;
  /** Keep audit entries this long (milliseconds; 0 or unset = forever; RETAIN_AUDIT). */
  retainAuditMs?: number;
  /** Time between runs (default one hour); the first run starts after `firstDelayMs`. */
  intervalMs?: number;
  /** Delay before the first run (default one minute). */
  firstDelayMs?: number;
  /** Jobs per batch (default {@link PRUNE_BATCH_SIZE}). */
  batchSize?: number;
  /** Pause between batches (default 50 ms), leaving the database room for claims. */
  pauseMs?: number;
  /** Label for the log lines (e.g. the worker id). */
  worker?: string;
}

/** A running pruner. */
export interface Pruner {
  /** Stops it: no new run starts; a run in progress ends after its current batch. */
  stop(): Promise<void>;
  /** Runs once now (unless a run is in progress) and resolves with its result. */
  runNow(): Promise<PruneResult | null>;
}

/**
 * The in-worker pruner: runs {@link prune} every `intervalMs` in the
 * background on `sql`. Any number of worker processes may run one: batches
 * take turns through an advisory lock, so while one prunes the others skip
 * their run. Every run with deletions logs `prune.done` with its counts; an
 * error is logged (`prune.failed`) and the next run tries again. Never
 * throws.
 */
export function startPruner(sql: Sql, opts: PrunerOptions): Pruner {
  const retain = retentionOf(opts);
  const controller = new AbortController();
  let running: Promise<PruneResult | null> | null = null;
  const runOnce = (): Promise<PruneResult | null> => {
    if (running) return running;
    running = (async () => {
      try {
        const r: PruneResult = await prune(sql, {
          retain,
          batchSize: opts.batchSize,
          pauseMs: opts.pauseMs ?? 50,
          exclusive: true,
          signal: controller.signal,
        });
        if ((opts.retainAuditMs ?? 0) > 0) {
          r.audit = await pruneAudit(sql, {
            olderThanMs: opts.retainAuditMs!,
            batchSize: opts.batchSize ?? PRUNE_BATCH_SIZE,
            pauseMs: opts.pauseMs ?? 50,
            signal: controller.signal,
          });
          if (r.audit > 0) log("info", "prune.audit", { worker: opts.worker, entries: r.audit });
        }
        if (r.jobs > 0) {
          log("info", "prune.done", {
            worker: opts.worker,
            jobs: r.jobs,
            events: r.events,
            artifacts: r.artifacts,
            batches: r.batches,
            cutoffs: Object.fromEntries(
              FINISHED_STATUSES.map((s) => [s, r.cutoffs[s]?.toISOString() ?? null]),
            ),
          });
        }
        return r;
      } catch (err) {
        log("error", "prune.failed", { worker: opts.worker, error: err });
        return null;
      } finally {
        running = null;
      }
    })();
    return running;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = (ms: number) => {
    timer = setTimeout(async () => {
      await runOnce();
      if (!controller.signal.aborted) schedule(opts.intervalMs ?? 3_600_000);
    }, ms);
  };
  schedule(opts.firstDelayMs ?? 60_000);
  return {
    async stop() {
      controller.abort();
      clearTimeout(timer);
      if (running) await running;
    },
    runNow: runOnce,
  };
}
