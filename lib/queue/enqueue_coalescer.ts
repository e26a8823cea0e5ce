/**
 * Group commit for single enqueues. Every single-row INSERT is its own
 * transaction, and every commit waits for its own WAL flush; under load the
 * web process spends its time (and PostgreSQL its CPU) on commits, not rows.
 * The coalescer writes concurrent enqueues together: a job that arrives while
 * `maxInFlight` statements are running waits, and the next statement writes
 * every waiting job (up to `maxBatch`) through {@link enqueueBatch} — one
 * statement, one commit. Each caller still gets its own row, and only after
 * that row is committed. A job that arrives while a slot is free is written at
 * once: an idle server adds no delay.
 *
 * Wake-up: with `notify`, each statement also sends `NOTIFY <notify>` as it
 * commits (idle workers wake with the rows, no separate notifying commit).
 * A notifying commit takes a cluster-wide lock; with one statement in flight
 * (the default) there is never a second one to serialise with.
 *
 * Unique keys: each statement is {@link enqueueBatchUnique}, so a job whose
 * `unique_key` a pending or processing job holds (or an earlier job of the
 * same statement) answers with that job and `existed: true`; of concurrent
 * enqueues of one key, one creates the job and every other names it.
 *
 * Failure isolation: jobs are validated by the caller before they get here. If
 * a statement of several jobs fails with an error that says the database is
 * unreachable, nothing was written (or, as for any single INSERT whose
 * connection dropped, the outcome is unknown) and every caller gets that error;
 * retrying could duplicate rows. Any other error may belong to one row alone,
 * so each job of that statement is written again on its own and each caller
 * gets its own row or its own error.
 */
import { isDatabaseUnavailable, type Sql } from "../db.ts";
import { enqueueBatchUnique, type Enqueued, type NewJob } from "./enqueue.ts";
import type { Job } from "./types.ts";

/** Options of {@link EnqueueCoalescer}. */
export interface EnqueueCoalescerOptions {
  /** Most jobs one statement writes (default {@link DEFAULT_MAX_BATCH}). */
  maxBatch?: number;
  /** Statements running at once (default {@link DEFAULT_MAX_IN_FLIGHT}). */
  maxInFlight?: number;
  /** Channel each statement notifies as it commits (default: none). */
  notify?: string | null;
}

/** Counters of what the coalescer did, since it was made. */
export interface EnqueueCoalescerStats {
  /** Jobs accepted by {@link EnqueueCoalescer.enqueue}. */
  jobs: number;
  /** Batched statements run (fallback statements not included). */
  statements: number;
  /** Most jobs written by one statement. */
  largestBatch: number;
  /** Statements that failed and were written again one job at a time. */
  fallbacks: number;
}

/** Default of {@link EnqueueCoalescerOptions.maxBatch}. */
export const DEFAULT_MAX_BATCH = 256;
/**
 * Default of {@link EnqueueCoalescerOptions.maxInFlight}: one statement at a
 * time makes the biggest groups; on two cores shared with PostgreSQL it used
 * the least CPU per job of 1, 2 and 4 (see bench/http.ts).
 */
export const DEFAULT_MAX_IN_FLIGHT = 1;

interface Waiting {
  job: NewJob;
  now: Date | null;
  resolve: (r: Enqueued) => void;
  reject: (err: unknown) => void;
}

/** The error of {@link EnqueueCoalescer.enqueue} after {@link EnqueueCoalescer.close}. */
export class CoalescerClosedError extends Error {
  override name = "CoalescerClosedError";
  constructor() {
    super("the enqueue coalescer is closed");
  }
}

/** Writes concurrent single enqueues in shared statements (see the module comment). */
export class EnqueueCoalescer {
  #sql: Sql;
  #maxBatch: number;
  #maxInFlight: number;
  #notify: string | null;
  #queue: Waiting[] = [];
  #inFlight = 0;
  #closed = false;
  #idle: (() => void)[] = [];
  #stats: EnqueueCoalescerStats = { jobs: 0, statements: 0, largestBatch: 0, fallbacks: 0 };

  constructor(sql: Sql, opts: EnqueueCoalescerOptions = {}) {
    this.#sql = sql;
    this.#maxBatch = Math.max(1, opts.maxBatch ?? DEFAULT_MAX_BATCH);
    this.#maxInFlight = Math.max(1, opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
    this.#notify = opts.notify ?? null;
  }

  /**
   * Inserts one pending job and its `created` event, possibly in one
   * statement with other callers' jobs. Resolves with the stored row once it
   * is committed; rejects with the database's error for this job (nothing of
   * it is stored), or with {@link CoalescerClosedError} after `close()`.
   * `now` as in `jobs.enqueue` (`null`: the database clock); only jobs with
   * the same `now` share a statement.
   */
  async enqueue(job: NewJob, opts: { now?: Date | null } = {}): Promise<Job> {
    return (await this.enqueueUnique(job, opts)).job;
  }

  /**
   * Like {@link enqueue}, and says whether the job `existed`: its
   * `unique_key` was held by a pending or processing job, which is returned
   * and nothing is stored.
   */
  enqueueUnique(job: NewJob, opts: { now?: Date | null } = {}): Promise<Enqueued> {
    if (this.#closed) return Promise.reject(new CoalescerClosedError());
    this.#stats.jobs++;
    return new Promise<Enqueued>((resolve, reject) => {
      this.#queue.push({ job, now: opts.now ?? null, resolve, reject });
      this.#pump();
    });
  }

  /** Jobs waiting for a statement (not yet sent). */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Statements running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** A copy of the counters. */
  get stats(): EnqueueCoalescerStats {
    return { ...this.#stats };
  }

  /**
   * Refuses new jobs and resolves once every accepted job is written (or has
   * failed). Calling it again waits the same way.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#inFlight === 0 && this.#queue.length === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#take();
      this.#inFlight++;
      this.#write(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
        if (this.#inFlight === 0 && this.#queue.length === 0) {
          for (const resolve of this.#idle.splice(0)) resolve();
        }
      });
    }
  }

  /** The longest run of waiting jobs from the head that share its `now`, up to maxBatch. */
  #take(): Waiting[] {
    const key = nowKey(this.#queue[0].now);
    let n = 1;
    while (
      n < this.#queue.length && n < this.#maxBatch && nowKey(this.#queue[n].now) === key
    ) n++;
    return this.#queue.splice(0, n);
  }

  async #write(batch: Waiting[]): Promise<void> {
    this.#stats.statements++;
    if (batch.length > this.#stats.largestBatch) this.#stats.largestBatch = batch.length;
    let rows: Job[];
    let existed: boolean[];
    try {
      ({ jobs: rows, existed } = await enqueueBatchUnique(this.#sql, {
        jobs: batch.map((w) => w.job),
        now: batch[0].now,
        notify: this.#notify,
      }));
    } catch (err) {
      if (batch.length === 1 || isDatabaseUnavailable(err)) {
        for (const w of batch) w.reject(err);
        return;
      }
      this.#stats.fallbacks++;
      await Promise.all(batch.map((w) => this.#writeAlone(w)));
      return;
    }
    if (rows.length !== batch.length) {
      // Committed, but not matched to callers: never written again (that would duplicate).
      const err = new Error(`enqueueBatch returned ${rows.length} rows for ${batch.length} jobs`);
      for (const w of batch) w.reject(err);
      return;
    }
    batch.forEach((w, i) => w.resolve({ job: rows[i], existed: existed[i] }));
  }

  async #writeAlone(w: Waiting): Promise<void> {
    try {
      const r = await enqueueBatchUnique(this.#sql, {
        jobs: [w.job],
        now: w.now,
        notify: this.#notify,
      });
      w.resolve({ job: r.jobs[0], existed: r.existed[0] });
    } catch (err) {
      w.reject(err);
    }
  }
}

function nowKey(now: Date | null): number | null {
  return now === null ? null : now.getTime();
}
