/// <reference lib="deno.worker" />
/**
 * A runner's writes of how attempts ended: completions buffered and written
 * in batches (one by one when a batch fails for a reason other than an
 * outage), failures written at once, unstarted jobs given back. Every write
 * retries through an outage; the fence (id, attempt, locked_by) makes a late
 * or repeated write safe.
 */
import { log, logEach, logs } from "../lib/log.ts";
import * as jobs from "./queue.ts";
import type { Finished, JobRef } from "./protocol.ts";
import { describe, isTransient, withRetry } from "./retry.ts";
import { type Done, finished, post, refOf, retryHooks, state } from "./runner_state.ts";

/** Gives claimed jobs that never started back to pending (not an attempt). */
export async function giveBack(queue: jobs.LeanJob[]): Promise<void> {
  if (queue.length === 0) return;
  const items = queue.map((j) => ({ id: j.id, attempt: j.attempts }));
  try {
    const ids = new Set(
      await withRetry(
        () =>
          jobs.release(state.sql, {
            worker: state.settings.lockedBy,
            items,
            reason: "given back on shutdown before it started",
          }),
        retryHooks("release"),
      ),
    );
    log("info", "jobs.released", {
      worker: state.settings.lockedBy,
      count: ids.size,
      job_ids: [...ids],
    });
    finished(queue.map((j) => ({
      job: refOf(j),
      outcome: ids.has(j.id) ? "released" : "lost",
      ms: 0,
    })));
  } catch (err) {
    log("error", "jobs.release_failed", { worker: state.settings.lockedBy, error: describe(err) });
  }
}

/**
 * Writes a failed attempt (retrying through an outage); reports how it ended
 * (`cancelled` when its cancel was requested: the fenced write decides).
 */
export async function recordFailure(
  ref: JobRef,
  error: unknown,
  permanent: boolean,
  ms: number,
): Promise<void> {
  const fence = { id: ref.id, attempt: ref.attempt, worker: state.settings.lockedBy };
  const errorMsg = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  try {
    const row = await withRetry(
      () => jobs.fail(state.sql, { ...fence, error, permanent, retry: state.settings.retry }),
      retryHooks("fail"),
    );
    if (!row) {
      log("warn", "job.lost", {
        job_id: ref.id,
        type: ref.type,
        attempt: ref.attempt,
        worker: state.settings.lockedBy,
        ms,
        reason: "lease no longer held; failure not recorded",
      });
      finished([{ job: ref, outcome: "lost", ms, error: errorMsg }]);
      return;
    }
    if (row.status === "cancelled") {
      log("info", "job.cancelled", {
        job_id: ref.id,
        type: ref.type,
        attempt: ref.attempt,
        worker: state.settings.lockedBy,
        ms,
        error: errorMsg.slice(0, 500),
      });
      finished([{ job: ref, outcome: "cancelled", ms }]);
      return;
    }
    const final = row.status === "failed";
    log(final ? "error" : "warn", "job.failed", {
      job_id: ref.id,
      type: ref.type,
      attempt: ref.attempt,
      worker: state.settings.lockedBy,
      ms,
      final,
      permanent,
      retry_at: final ? undefined : row.scheduled_for,
      error: errorMsg.slice(0, 500),
    });
    finished([{ job: ref, outcome: "failed", ms, error: errorMsg, final }]);
  } catch (err) {
    log("error", "job.fail_not_recorded", {
      job_id: ref.id,
      attempt: ref.attempt,
      worker: state.settings.lockedBy,
      error: describe(err),
    });
    finished([{ job: ref, outcome: "lost", ms, error: errorMsg }]);
  }
}

/** Writes buffered completions (serialised: one flush at a time). Never rejects. */
export function flush(): Promise<void> {
  if (state.flushTimer !== undefined) {
    clearTimeout(state.flushTimer);
    state.flushTimer = undefined;
  }
  state.flushChain = state.flushChain.then(flushNow, flushNow);
  return state.flushChain;
}

async function flushNow(): Promise<void> {
  while (state.completions.length > 0) {
    const batch = state.completions.slice(0, state.settings.completeBatch);
    let done: Set<string>;
    let cancelled = new Set<string>();
    try {
      const written = await withRetry(
        () =>
          jobs.completeIds(state.sql, {
            worker: state.settings.lockedBy,
            items: batch.map((d) => ({ id: d.ref.id, attempt: d.ref.attempt, result: d.result })),
          }),
        retryHooks("complete"),
      );
      done = new Set(written.completed);
      cancelled = new Set(written.cancelled);
    } catch (err) {
      // Not an outage: one item poisons the batch. Write them one by one.
      log("warn", "jobs.complete_batch_failed", {
        worker: state.settings.lockedBy,
        error: describe(err),
      });
      done = await completeOneByOne(batch, cancelled);
    }
    state.completions.splice(0, batch.length);
    reportWritten(batch, done, cancelled);
  }
}

/**
 * Logs and reports to the supervisor how a batch of completions was written:
 * `done` completed, `cancelled` recorded cancelled, any other lost (a
 * completion whose `result` was cleared was reported by recordFailure).
 */
export function reportWritten(batch: Done[], done: Set<string>, cancelled: Set<string>): void {
  const items: Finished[] = [];
  const ids: string[] = [];
  const ms: number[] = [];
  // The usual lines (job.completed) are built only when they are written,
  // and go out in one write.
  const lines: Record<string, unknown>[] | null = logs("info") ? [] : null;
  for (const d of batch) {
    if (done.has(d.ref.id)) {
      lines?.push(fieldsOf(d));
      ids.push(d.ref.id);
      ms.push(d.ms);
    } else if (cancelled.has(d.ref.id)) {
      log("info", "job.cancelled", {
        ...fieldsOf(d),
        reason: "cancelled before its result was stored",
      });
      items.push({ job: d.ref, outcome: "cancelled", ms: d.ms });
    } else if (d.result !== undefined) {
      log("warn", "job.lost", { ...fieldsOf(d), reason: "lease no longer held; result discarded" });
      items.push({ job: d.ref, outcome: "lost", ms: d.ms });
    }
  }
  if (lines) logEach("info", "job.completed", lines);
  if (ids.length) post({ kind: "completed", ids, ms });
  finished(items);
}

/** The log fields of a written completion. */
function fieldsOf(d: Done) {
  return {
    job_id: d.ref.id,
    type: d.ref.type,
    attempt: d.ref.attempt,
    worker: state.settings.lockedBy,
    ms: d.ms,
  };
}

/** Completes `batch` one by one; the ids recorded cancelled instead go into `cancelled`. */
async function completeOneByOne(batch: Done[], cancelled: Set<string>): Promise<Set<string>> {
  const done = new Set<string>();
  for (const d of batch) {
    try {
      const row = await withRetry(
        () =>
          jobs.complete(state.sql, {
            id: d.ref.id,
            attempt: d.ref.attempt,
            worker: state.settings.lockedBy,
            result: d.result,
          }),
        retryHooks("complete"),
      );
      if (row?.status === "cancelled") cancelled.add(d.ref.id);
      else if (row) done.add(d.ref.id);
    } catch (err) {
      if (isTransient(err)) throw err;
      await recordFailure(d.ref, `the result could not be stored: ${describe(err)}`, false, d.ms);
      d.result = undefined; // reported by recordFailure
    }
  }
  return done;
}
