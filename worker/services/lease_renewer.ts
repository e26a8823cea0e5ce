/**
 * The lease renewer: every third of the lease, extends the lease of every
 * job the runners hold, from the main thread (so a handler that blocks its
 * Web Worker keeps its lease until the hard timeout). A job missing from two
 * renewals in a row was taken from its runner (rescued after an outage, or
 * cancelled): the runner is told it lost it. Each renewal also catches jobs
 * whose cancel was requested (`cancel_requested_at`), in case the listener
 * missed the `NOTIFY jobq_cancel`, and passes them on to the holders.
 */
import type { Sql } from "../../lib/db.ts";
import { log } from "../../lib/log.ts";
import { jobs } from "../../lib/queue/mod.ts";
import type { JobRef } from "../protocol.ts";
import type { DbHealth } from "./health.ts";
import { Periodic } from "./periodic.ts";

/** Who holds which jobs, and how to tell a holder it lost some (the runner pool). */
export interface Holders {
  holdings(): { lockedBy: string; jobs: JobRef[] }[];
  holds(lockedBy: string, id: string): boolean;
  lost(lockedBy: string, ids: string[]): void;
  /** The cancel of job `id` was requested (idempotent). */
  cancel?(id: string): void;
}

/** Options of {@link LeaseRenewer}. */
export interface LeaseRenewerOptions {
  sql: Sql;
  holders: Holders;
  health: DbHealth;
  /** Lease length (s); renewals run every third of it (at least every 500 ms). */
  leaseSeconds: number;
}

/** Renews the leases of the jobs this process holds. */
export class LeaseRenewer {
  #o: LeaseRenewerOptions;
  #periodic: Periodic;
  #renewing = false;
  /** Per holder: `id:attempt` of the jobs missing from the last renewal (lost if missing twice). */
  #suspect = new Map<string, Set<string>>();

  constructor(opts: LeaseRenewerOptions) {
    this.#o = opts;
    const ms = Math.max(500, Math.floor((opts.leaseSeconds * 1000) / 3));
    this.#periodic = new Periodic(() => this.renew(), { ms });
  }

  /** Starts renewing every period. */
  start(): void {
    this.#periodic.start();
  }

  /** Stops renewing (a renewal in flight finishes). */
  stop(): void {
    this.#periodic.stop();
  }

  /**
   * One renewal of every holder's jobs (nothing when one is in flight).
   * Never rejects: a database error is reported to `health`.
   */
  async renew(): Promise<void> {
    if (this.#renewing) return;
    this.#renewing = true;
    try {
      const { sql, holders, health, leaseSeconds } = this.#o;
      const seen = new Set<string>();
      for (const { lockedBy, jobs: held } of holders.holdings()) {
        seen.add(lockedBy);
        const ids = held.map((j) => j.id);
        const renewed = await jobs.renewLeases(sql, { worker: lockedBy, ids, leaseSeconds });
        health.ok();
        const kept = new Set(renewed.ids);
        for (const id of renewed.cancel) holders.cancel?.(id);
        const lost = this.#judge(
          lockedBy,
          held,
          (j) => kept.has(j.id) || !holders.holds(lockedBy, j.id),
        );
        if (lost.length) {
          for (const j of lost) {
            log("warn", "job.lease_lost", {
              job_id: j.id,
              type: j.type,
              attempt: j.attempt,
              worker: lockedBy,
            });
          }
          holders.lost(lockedBy, lost.map((j) => j.id));
        }
      }
      for (const lockedBy of this.#suspect.keys()) {
        if (!seen.has(lockedBy)) this.#suspect.delete(lockedBy);
      }
    } catch (err) {
      this.#o.health.down(err, "lease");
    } finally {
      this.#renewing = false;
    }
  }

  /** The jobs missing at least twice in a row; every missing job stays suspect until renewed or dropped. */
  #judge(lockedBy: string, held: JobRef[], fine: (j: JobRef) => boolean): JobRef[] {
    const before = this.#suspect.get(lockedBy) ?? new Set<string>();
    const now = new Set<string>();
    const lost: JobRef[] = [];
    for (const j of held) {
      const key = `${j.id}:${j.attempt}`;
      if (fine(j)) continue;
      now.add(key);
      if (before.has(key)) lost.push(j);
    }
    this.#suspect.set(lockedBy, now);
    return lost;
  }
}
