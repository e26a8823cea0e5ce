/**
 * The rescuer: every period (jittered), one process in the cluster at a time
 * (see `rescuePass`) returns jobs whose lease expired — their worker died or
 * lost the database — and deletes the rows of worker processes whose
 * heartbeat stopped.
 */
import type { Sql } from "../../lib/db.ts";
import { log } from "../../lib/log.ts";
import type { jobs } from "../../lib/queue/mod.ts";
import { rescuePass } from "../../lib/queue/rescue.ts";
import type { DbHealth } from "./health.ts";
import { Periodic } from "./periodic.ts";

/** Options of {@link Rescuer}. */
export interface RescuerOptions {
  sql: Sql;
  /** The process's worker id, for log lines. */
  worker: string;
  health: DbHealth;
  /** Mean period (ms; jittered ±50 %). */
  intervalMs: number;
  /** Worker rows whose heartbeat is older than this are deleted (s). */
  staleSeconds: number;
  /** Called after a pass that returned jobs (not after one that found none). */
  onRescued?(rescued: jobs.Rescued[]): void;
}

/** Returns expired leases and removes dead workers' rows, periodically. */
export class Rescuer {
  #o: RescuerOptions;
  #periodic: Periodic;

  constructor(opts: RescuerOptions) {
    this.#o = opts;
    this.#periodic = new Periodic(() => this.runOnce(), {
      ms: opts.intervalMs,
      jitter: true,
      runNow: true,
    });
  }

  /** Runs a pass now and every period after. */
  start(): void {
    this.#periodic.start();
  }

  /** Stops (a pass in flight finishes). */
  stop(): void {
    this.#periodic.stop();
  }

  /**
   * One pass (nothing when another process holds the rescuer's turn).
   * Never rejects: a database error is reported to `health`.
   */
  async runOnce(): Promise<void> {
    const o = this.#o;
    try {
      const pass = await rescuePass(o.sql, { staleSeconds: o.staleSeconds });
      o.health.ok();
      if (pass.staleWorkers.length) {
        log("info", "worker.stale_removed", { worker: o.worker, removed: pass.staleWorkers });
      }
      if (!pass.rescued.length) return;
      for (const r of pass.rescued) {
        log("warn", "job.rescued", {
          job_id: r.id,
          attempt: r.attempts,
          worker: o.worker,
          previous_worker: r.previous_worker,
          status: r.status,
        });
      }
      o.onRescued?.(pass.rescued);
    } catch (err) {
      o.health.down(err, "rescue");
    }
  }
}
