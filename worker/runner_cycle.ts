/// <reference lib="deno.worker" />
/**
 * How a runner claims: how many jobs (about BATCH_TARGET_MS of work), and
 * the claim sent alone (`claimNext`) or with the completions of the jobs
 * that ended since the last one, in one statement (`completeAndClaim`): one
 * round trip and one commit per batch instead of two, which is most of what
 * a batch of short jobs costs the runner and the database.
 */
import { log, logs } from "../lib/log.ts";
import type { JobRef } from "./protocol.ts";
import * as jobs from "./queue.ts";
import { describe, withRetry } from "./retry.ts";
import { post, refOf, retryHooks, state } from "./runner_state.ts";
import { claimMarks } from "./runner_marks.ts";
import { reportWritten } from "./runner_writes.ts";

/**
 * A runner claims about this much work at once, judged by its average job
 * time: many short jobs per statement, one at a time when jobs are slow (so
 * idle runners get the rest instead of waiting behind a runner's backlog).
 */
const BATCH_TARGET_MS = 50;

/** Claim size before this runner has timed a job (its jobs may be slow). */
const FIRST_CLAIM = 4;

/**
 * How many jobs to claim next: enough for ~BATCH_TARGET_MS of work of all
 * `slots`, at most `claimBatch`, at least the `free` slots (which start at
 * once). Before a job is timed: FIRST_CLAIM for one slot; for several, only
 * the free slots (a job claimed past them could wait behind slow ones).
 */
export function claimLimit(slots = 1, free = 1): number {
  const least = Math.min(Math.max(1, free), state.settings.claimBatch);
  if (state.avgMs <= 0) {
    return slots > 1 ? least : Math.max(least, Math.min(FIRST_CLAIM, state.settings.claimBatch));
  }
  return Math.max(
    least,
    Math.min(state.settings.claimBatch, Math.floor((BATCH_TARGET_MS * slots) / state.avgMs)),
  );
}

/** A claim's jobs, their references and the sequence number of the first (see the `claimed` message). */
export interface Claimed {
  jobs: jobs.LeanJob[];
  refs: JobRef[];
  firstSeq: number;
}

/** Numbers the claimed jobs and tells the supervisor (it renews their leases from then on). */
export function announce(batch: jobs.LeanJob[]): Claimed {
  const firstSeq = state.nextSeq;
  state.nextSeq += batch.length;
  const refs = batch.map(refOf);
  if (batch.length) {
    post({
      kind: "claimed",
      firstSeq,
      ids: refs.map((r) => r.id),
      types: refs.map((r) => r.type),
      attempts: refs.map((r) => r.attempt),
    });
    if (logs("info")) {
      log("info", "jobs.claimed", {
        worker: state.settings.lockedBy,
        count: batch.length,
        job_ids: batch.map((j) => j.id),
      });
    }
  }
  return { jobs: batch, refs, firstSeq };
}

/**
 * Writes the buffered completions (up to a batch) and claims up to `free`
 * jobs in one statement, run in turn with the batch writes (runner_writes.ts
 * `flush`): the completions it sends are out of the buffer while it runs.
 * The completions are reported before the claim (the supervisor's count of
 * what this runner holds never exceeds what it may hold). Resolves `null`
 * when the statement failed (its completions are back in the buffer, for
 * `flush` to write: one by one when one of them poisons the batch) or the
 * runner is stopping.
 */
export function completeAndClaim(free: number): Promise<Claimed | null> {
  const cycle = state.flushChain.then(() => run(free));
  state.flushChain = cycle.then(() => {}, () => {});
  return cycle;
}

async function run(free: number): Promise<Claimed | null> {
  const batch = state.completions.splice(0, state.settings.completeBatch);
  if (state.completions.length === 0 && state.flushTimer !== undefined) {
    clearTimeout(state.flushTimer);
    state.flushTimer = undefined;
  }
  let res;
  try {
    res = await withRetry(
      () =>
        jobs.completeAndClaim(state.sql, {
          worker: state.settings.lockedBy,
          limit: free,
          leaseSeconds: state.settings.leaseSeconds,
          types: state.types,
          queues: state.settings.queues,
          marks: claimMarks(),
          complete: batch.map((d) => ({ id: d.ref.id, attempt: d.ref.attempt, result: d.result })),
        }),
      retryHooks("claim", () => state.stopping),
    );
  } catch (err) {
    state.completions.unshift(...batch);
    if (!state.stopping) {
      log("error", "runner.claim_failed", {
        worker: state.settings.lockedBy,
        error: describe(err),
      });
    }
    return null;
  }
  reportWritten(batch, new Set(res.completed), new Set(res.cancelled));
  return announce(res.jobs);
}

/**
 * Claims the next jobs and tells the supervisor at once (it renews their
 * leases from then on), or once `after` (the write of completions sent
 * together with this claim) has ended. Resolves `null` when the claim failed
 * for good or the runner is stopping.
 */
export async function claimNext(
  limit: number,
  after: Promise<void> | null = null,
): Promise<Claimed | null> {
  let batch: jobs.LeanJob[];
  try {
    batch = await withRetry(
      () =>
        jobs.claim(state.sql, {
          worker: state.settings.lockedBy,
          limit,
          leaseSeconds: state.settings.leaseSeconds,
          types: state.types,
          queues: state.settings.queues,
          lean: true,
          marks: claimMarks(),
        }),
      retryHooks("claim", () => state.stopping),
    );
  } catch (err) {
    if (!state.stopping) {
      log("error", "runner.claim_failed", {
        worker: state.settings.lockedBy,
        error: describe(err),
      });
    }
    return null;
  }
  // Completions sent with this claim are reported first: the supervisor's
  // count of what this runner holds never exceeds what it may hold.
  if (after) await after;
  return announce(batch);
}
