/**
 * The runner pool's watchdog: which runners must be terminated and replaced
 * now. A handler still running past its timeout, the abort grace and a
 * margin has blocked its Web Worker (a runner that regains control ends the
 * attempt itself and says "stuck"); a handler that ignored a cancel for the
 * cancel grace is stopped the same way.
 */
import { log } from "../../lib/log.ts";
import type { JobRef } from "../protocol.ts";
import { alive, cancelOverdue, runningAll, type Slot } from "./runner_slot.ts";

/** Extra time past timeout + abort grace before a runner is terminated (ms). */
const HARD_MARGIN_MS = 1000;

/** A runner to replace, why, the job at fault and what its attempt records. */
export interface Overdue {
  slot: Slot;
  /** The job whose handler is at fault (the runner's other jobs are innocent). */
  job: JobRef;
  reason: "timeout" | "cancel";
  failMessage: string;
  detail: string;
}

/** The runners overdue now (cancels first: a cancelled job ends cancelled, not timed out). */
export function overdueRunners(
  slots: (Slot | undefined)[],
  o: { abortGraceMs: number; cancelGraceMs: number },
): Overdue[] {
  const out: Overdue[] = [];
  const now = performance.timeOrigin + performance.now();
  for (const slot of slots) {
    if (!slot || !alive(slot)) continue;
    const cancelled = cancelOverdue(slot, o.cancelGraceMs);
    if (cancelled) {
      log("warn", "job.cancel_terminate", { job_id: cancelled.id, worker: slot.lockedBy });
      const why = `the handler ignored the abort signal for ${o.cancelGraceMs / 1000} s`;
      out.push({
        slot,
        job: cancelled,
        reason: "cancel",
        failMessage: `${why}; its Web Worker was terminated and replaced`,
        detail: why,
      });
      continue;
    }
    const run = runningAll(slot).find((r) =>
      now - r.startedAt >= r.timeoutMs + o.abortGraceMs + HARD_MARGIN_MS
    );
    if (!run) continue;
    const hardMs = run.timeoutMs + o.abortGraceMs + HARD_MARGIN_MS;
    const secs = run.timeoutMs / 1000;
    log("error", "job.timeout_terminate", {
      job_id: run.job.id,
      type: run.job.type,
      attempt: run.job.attempt,
      worker: slot.lockedBy,
      ms: hardMs,
    });
    out.push({
      slot,
      job: run.job,
      reason: "timeout",
      failMessage:
        `timed out after ${secs} s; the handler blocked its Web Worker, which was terminated and replaced`,
      detail: `job ${run.job.id} ran past its ${secs} s timeout and did not stop`,
    });
  }
  return out;
}
