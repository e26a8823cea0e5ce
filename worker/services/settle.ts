/**
 * Writing the end of jobs whose runner is gone (crashed, terminated after a
 * hard timeout, or still busy when the shutdown grace ran out), on that
 * runner's behalf: every write is fenced on the runner's `locked_by`, so a
 * job someone else holds by now is left alone.
 */
import type { Sql } from "../../lib/db.ts";
import { log } from "../../lib/log.ts";
import { jobs, type Notifier } from "../../lib/queue/mod.ts";
import { type JobRef, runnerAppName } from "../protocol.ts";
import { delay, describe, withRetry } from "../retry.ts";
import type { EventBus } from "./events.ts";
import type { DbHealth } from "./health.ts";
import type { WorkerCounts } from "./counts.ts";

/** What {@link Settler} writes with and reports to. */
export interface SettlerDeps {
  sql: Sql;
  health: DbHealth;
  metrics: WorkerCounts;
  events: EventBus;
  /** Poked after a job changed state (live dashboards). */
  changed: Notifier;
  /** Poked when released jobs are due again (other workers may take them). */
  newJobs: Notifier;
  /** Backoff of a failed attempt. */
  retry: { baseMs: number; maxMs: number };
  /** True while the process stops (released jobs then wake no one here). */
  stopping(): boolean;
}

/** Fails or gives back jobs on a dead runner's behalf. */
export class Settler {
  #d: SettlerDeps;

  constructor(deps: SettlerDeps) {
    this.#d = deps;
  }

  /**
   * Fails `job`'s attempt with `message` (retried through an outage): a job
   * that kills its runner is counted, so it cannot loop forever. Never
   * rejects; the outcome is logged and emitted ("failed"; "cancelled" when
   * its cancel was requested; "lost" when the lease is no longer `lockedBy`'s).
   */
  async fail(lockedBy: string, job: JobRef, message: string): Promise<void> {
    const d = this.#d;
    const fields = { job_id: job.id, type: job.type, attempt: job.attempt, worker: lockedBy };
    try {
      const row = await withRetry(
        () =>
          jobs.fail(d.sql, {
            id: job.id,
            attempt: job.attempt,
            worker: lockedBy,
            error: message,
            retry: d.retry,
          }),
        d.health.hooks("fail"),
      );
      if (!row) {
        log("warn", "job.lost", {
          ...fields,
          reason: "lease no longer held; failure not recorded",
        });
        d.events.emit({ kind: "lost", worker: lockedBy, job });
        return;
      }
      d.changed.poke();
      if (row.status === "cancelled") {
        d.metrics.finished({ job, outcome: "cancelled", ms: 0 }, false);
        log("info", "job.cancelled", { ...fields, error: message });
        d.events.emit({ kind: "cancelled", worker: lockedBy, job });
        return;
      }
      const final = row.status === "failed";
      d.metrics.finished({ job, outcome: "failed", ms: 0 }, false);
      log(final ? "error" : "warn", "job.failed", { ...fields, final, error: message });
      d.events.emit({ kind: "failed", worker: lockedBy, job, ms: 0, error: message, final });
    } catch (err) {
      log("error", "job.fail_not_recorded", { job_id: job.id, error: describe(err) });
    }
  }

  /**
   * Gives back, uncharged, the jobs a terminated runner's last claim took
   * that it never reported: a claim it sent before it was terminated may
   * still commit. Waits (up to `waitMs`) until none of the runner's
   * connections is running a statement, then gives back every job still
   * processing under its name; a job it reported was given back already
   * (the fenced write then finds nothing). Never rejects.
   */
  async releaseUnreported(lockedBy: string, reason: string, waitMs = 5_000): Promise<void> {
    const d = this.#d;
    try {
      const deadline = performance.now() + waitMs;
      while (
        (await jobs.statementsRunning(d.sql, runnerAppName(lockedBy))) > 0 &&
        performance.now() < deadline
      ) await delay(20);
      const rows = await jobs.heldBy(d.sql, lockedBy);
      if (rows.length) await this.release(lockedBy, rows, reason);
    } catch (err) {
      log("error", "jobs.release_failed", { worker: lockedBy, error: describe(err) });
    }
  }

  /**
   * Gives `list` back to pending without counting the attempt (retried
   * through an outage). Never rejects; emits "released" for each job given
   * back.
   */
  async release(lockedBy: string, list: JobRef[], reason: string): Promise<void> {
    const d = this.#d;
    try {
      const ids = new Set(
        await withRetry(
          () =>
            jobs.release(d.sql, {
              worker: lockedBy,
              items: list.map((j) => ({ id: j.id, attempt: j.attempt })),
              reason,
            }),
          d.health.hooks("release"),
        ),
      );
      log("info", "jobs.released", {
        worker: lockedBy,
        count: ids.size,
        job_ids: [...ids],
        reason,
      });
      d.metrics.released(ids.size);
      for (const j of list) {
        if (ids.has(j.id)) d.events.emit({ kind: "released", worker: lockedBy, job: j });
      }
      if (ids.size) {
        d.changed.poke();
        if (!d.stopping()) d.newJobs.poke();
      }
    } catch (err) {
      log("error", "jobs.release_failed", { worker: lockedBy, error: describe(err) });
    }
  }
}
