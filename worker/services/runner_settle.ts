/**
 * What the runner pool does with a runner's reports of ended attempts and,
 * when it terminates a runner, with the jobs that runner held.
 */
import { log } from "../../lib/log.ts";
import { delay } from "../retry.ts";
import type { DbHealth } from "./health.ts";
import type { Finished, JobRef } from "../protocol.ts";
import type { RunnerPoolDeps } from "./runner_deps.ts";
import { drop, kill, runningAll, type Slot } from "./runner_slot.ts";

/**
 * Takes a runner's ended attempts off what it holds, counts them, emits
 * their events, and pokes the live dashboards when an outcome was recorded.
 */
export function reportFinished(
  slot: Slot,
  items: Finished[],
  deps: Pick<RunnerPoolDeps, "events" | "metrics" | "changed">,
): void {
  let recorded = false;
  const { events, metrics } = deps;
  const worker = slot.lockedBy;
  for (const { job, outcome, ms, error, final } of items) {
    drop(slot, job.id);
    metrics.finished({ job, outcome, ms });
    if (outcome === "completed" || outcome === "cancelled") {
      recorded = true;
      if (outcome === "completed") events.emit({ kind: "completed", worker, job, ms });
      else events.emit({ kind: "cancelled", worker, job });
    } else if (outcome === "failed") {
      recorded = true;
      events.emit({ kind: "failed", worker, job, ms, error: error ?? "", final: !!final });
    } else {
      events.emit({ kind: outcome, worker, job });
    }
  }
  if (recorded) deps.changed.poke();
}

/**
 * {@link reportFinished} for a `completed` message: the attempts of `ids`
 * (which the runner holds: its `claimed` message came first) completed,
 * `ms[n]` the run time of `ids[n]`.
 */
export function reportCompleted(
  slot: Slot,
  ids: string[],
  ms: number[],
  deps: Pick<RunnerPoolDeps, "events" | "metrics" | "changed">,
): void {
  const { events, metrics } = deps;
  const worker = slot.lockedBy;
  for (let i = 0; i < ids.length; i++) {
    const job = slot.held.get(ids[i]) ?? { id: ids[i], type: "", attempt: 0 };
    drop(slot, job.id);
    metrics.finished({ job, outcome: "completed", ms: ms[i] });
    events.emit({ kind: "completed", worker, job, ms: ms[i] });
  }
  if (ids.length) deps.changed.poke();
}

/**
 * Marks a runner dead and settles what it held. The job at fault (`culprit`:
 * the one past its timeout, ignoring its cancel, or stuck) fails with
 * `failMessage` (counted: a job that kills its runner cannot loop forever);
 * the runner's other jobs — running or not yet started — did nothing wrong
 * and go back to pending without losing an attempt (the `released` path of
 * a graceful stop), at once rather than when their lease runs out. A crash
 * names no culprit: a runner running one job charges it (as before); one
 * running several cannot tell whose handler crashed it, so each running
 * job's attempt is counted as a retryable failure (a poison job still ends
 * after max_attempts; the others retry), the same charge a process crash
 * makes through the rescuer.
 */
export function settleReplaced(
  slot: Slot,
  reason: "crashed" | "timeout" | "cancel",
  failMessage: string | null,
  detail: string,
  culprit: JobRef | undefined,
  deps: Pick<RunnerPoolDeps, "metrics" | "settler">,
): void {
  const runs = runningAll(slot).map((r) => r.job);
  const charged = culprit ? [culprit] : runs;
  const chargedIds = new Set(charged.map((j) => j.id));
  const rest = kill(slot).filter((j) => !chargedIds.has(j.id));
  const run = charged[0] ?? null;
  deps.metrics.replaced(reason);
  log("error", "runner.replaced", {
    worker: slot.lockedBy,
    reason,
    error: detail,
    job_id: run?.id,
    type: run?.type,
    attempt: run?.attempt,
    charged: charged.length,
    released: rest.length,
  });
  if (failMessage) {
    for (const job of charged) {
      const msg = charged.length > 1
        ? `${failMessage} (it was running ${charged.length} jobs; which one crashed it is unknown)`
        : failMessage;
      deps.settler.fail(slot.lockedBy, job, msg);
    }
  }
  if (rest.length) {
    deps.settler.release(slot.lockedBy, rest, `given back: Web Worker ${reason}`);
  }
}

/**
 * The end of a graceful stop for runners still busy after `graceMs`: each is
 * terminated and what it held given back, and then what a claim it had sent
 * took (a runner of several slots claims while its handlers run), once the
 * claim has ended (bounded to 10 s through an outage: the lease covers the
 * rest).
 */
export async function settleLate(
  late: Slot[],
  graceMs: number,
  deps: Pick<RunnerPoolDeps, "id" | "settler">,
): Promise<void> {
  const giveBack: Promise<void>[] = [];
  const reason = `given back on shutdown: still running after the ${graceMs / 1000} s grace period`;
  for (const slot of late) {
    const held = kill(slot);
    giveBack.push((async () => {
      if (held.length) await deps.settler.release(slot.lockedBy, held, reason);
      await deps.settler.releaseUnreported(slot.lockedBy, reason);
    })());
  }
  log("warn", "worker.grace_over", { worker: deps.id, runners: late.map((s) => s.lockedBy) });
  const bound = new AbortController();
  await Promise.race([Promise.all(giveBack), delay(10_000, bound.signal)]);
  bound.abort();
}

/** A runner found the database down or back: the process's health hears it. */
export function reportDb(slot: Slot, m: { up: boolean; error?: string }, health: DbHealth): void {
  if (m.up) health.ok();
  else {
    const err = new Error(m.error ?? "database unavailable");
    health.down(Object.assign(err, { code: "CONNECTION_CLOSED" }), `runner ${slot.lockedBy}`);
  }
}
