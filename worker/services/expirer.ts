/**
 * The expirer: about every second, one process in the cluster at a time (see
 * `expirePass`) cancels pending jobs whose `expires_at` has passed, each
 * with an `expired` event. The claim already passes such jobs over; this
 * gives them their end state promptly.
 */
import type { Sql } from "../../lib/db.ts";
import { log } from "../../lib/log.ts";
import { expirePass } from "../../lib/queue/expire.ts";
import type { DbHealth } from "./health.ts";
import { Periodic } from "./periodic.ts";

/** Default of {@link ExpirerOptions.intervalMs}. */
export const EXPIRE_INTERVAL_MS = 1000;

/** Options of {@link Expirer}. */
export interface ExpirerOptions {
  sql: Sql;
  /** The process's worker id, for log lines. */
  worker: string;
  health: DbHealth;
  /** Mean period (ms; jittered ±50 %). Default {@link EXPIRE_INTERVAL_MS}. */
  intervalMs?: number;
  /** Called after a pass that cancelled jobs. */
  onExpired?(ids: string[]): void;
}

/** Cancels expired pending jobs, periodically. */
export class Expirer {
  #o: ExpirerOptions;
  #periodic: Periodic;

  constructor(opts: ExpirerOptions) {
    this.#o = opts;
    this.#periodic = new Periodic(async () => void await this.runOnce(), {
      ms: opts.intervalMs ?? EXPIRE_INTERVAL_MS,
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
   * One pass (nothing when another process holds the expirer's turn); returns
   * the ids it cancelled. Never rejects: a database error is reported to `health`.
   */
  async runOnce(): Promise<string[]> {
    const o = this.#o;
    try {
      const pass = await expirePass(o.sql);
      o.health.ok();
      if (!pass.expired.length) return [];
      const ids = pass.expired.map((e) => e.id);
      log("info", "jobs.expired", { worker: o.worker, count: ids.length, job_ids: ids });
      o.onExpired?.(ids);
      return ids;
    } catch (err) {
      o.health.down(err, "expire");
      return [];
    }
  }
}
