/// <reference lib="deno.worker" />
/**
 * One cycle of a runner of several slots: the completions of the jobs that
 * ended since its last claim and the claim of as many jobs as it has free
 * slots, written in one statement (`completeAndClaim`): one round trip and
 * one commit per cycle instead of two. With few slots a claim takes few
 * jobs, so what every statement costs the database (executor start, commit)
 * is most of a cycle's cost; sharing it is what lets such a runner drain at
 * the pace of one that claims ahead.
 */
import { log, logs } from "../lib/log.ts";
import type { JobRef } from "./protocol.ts";
import * as jobs from "./queue.ts";
import { describe, withRetry } from "./retry.ts";
import { post, refOf, retryHooks, state } from "./runner_state.ts";
import { claimMarks } from "./runner_marks.ts";
import { reportWritten } from "./runner_writes.ts";

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
