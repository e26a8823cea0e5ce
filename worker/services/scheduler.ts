/**
 * The scheduler: turns due schedule ticks into jobs (see
 * `lib/queue/schedule_tick.ts`, which does the work exactly once per tick).
 * Every worker process runs one; each pass takes the cluster-wide scheduler
 * turn (a transaction-scoped advisory lock), so one process at a time
 * enqueues and the others, finding the turn taken, try again a little later.
 *
 * It sleeps until the earliest `next_run_at` (by the database clock), at most
 * `maxSleepMs`, and wakes early on {@link Scheduler.wake} (the worker's
 * listener calls it on `NOTIFY jobq_schedules`, sent by every schedule
 * change). The clock is injectable (`now`), so tests step through ticks
 * without waiting for them.
 */
import type { Sql } from "../../lib/db.ts";
import { log } from "../../lib/log.ts";
import { type SchedulerPass, schedulerPass } from "../../lib/queue/schedule_tick.ts";
import type { Enqueued } from "../../lib/queue/schedule_tick.ts";
import type { DbHealth } from "./health.ts";

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
  sql: Sql;
  /** The process's worker id, for log lines. */
  worker: string;
  /** Told of database errors and recoveries (optional). */
  health?: DbHealth;
  /** The clock: a fixed instant (tests) or null for the database clock (default). */
  now?: () => Date | null;
  /**
   * Longest sleep between passes (ms; default 30 000): how soon a process
   * that found the turn taken tries again, and the bound on a missed wake-up.
   */
  maxSleepMs?: number;
  /** Take the cluster-wide turn (default true; false leaves exactly-once to the row guard). */
  singleton?: boolean;
  /** Called after every pass that enqueued something. */
  onEnqueued?(enqueued: Enqueued[]): void;
  /** Called after every pass (tests count them). */
  onPass?(pass: SchedulerPass): void;
}

/** Enqueues due schedule ticks until stopped. */
export class Scheduler {
  #o: SchedulerOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #inFlight: Promise<SchedulerPass | null> | null = null;
  #again = false;

  constructor(opts: SchedulerOptions) {
    this.#o = opts;
  }

  /** Runs a pass now, then one at each next tick; idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.wake();
  }

  /** Stops; resolves when a pass in flight has finished. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#inFlight;
  }

  /** Runs a pass soon (schedules changed); a pass in flight is followed by another. */
  wake(): void {
    if (!this.#running) return;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#inFlight = this.runOnce().then((pass) => {
      this.#inFlight = null;
      if (!this.#running) return pass;
      if (this.#again) {
        this.#again = false;
        this.wake();
      } else {
        this.#sleep(pass);
      }
      return pass;
    });
  }

  /**
   * One pass (see `schedulerPass`); null when it failed (reported to
   * `health` and logged). Never rejects.
   */
  async runOnce(): Promise<SchedulerPass | null> {
    const o = this.#o;
    try {
      const pass = await schedulerPass(o.sql, {
        now: o.now?.() ?? null,
        singleton: o.singleton ?? true,
      });
      o.health?.ok();
      for (const e of pass.enqueued) {
        log("info", "schedule.enqueued", {
          worker: o.worker,
          schedule: e.schedule,
          tick: e.tick.toISOString(),
          job_id: e.job.id,
        });
      }
      if (pass.enqueued.length) o.onEnqueued?.(pass.enqueued);
      o.onPass?.(pass);
      return pass;
    } catch (err) {
      if (o.health) o.health.down(err, "scheduler");
      else log("warn", "schedule.pass_failed", { worker: o.worker, error: err });
      return null;
    }
  }

  #sleep(pass: SchedulerPass | null): void {
    const max = this.#o.maxSleepMs ?? 30_000;
    let ms = max;
    if (pass?.ran && pass.nextDueAt) {
      const due = pass.nextDueAt.getTime() - pass.now.getTime();
      // Still due after a pass that made nothing: its row is locked by a change in flight
      // (SKIP LOCKED); look again soon, without spinning.
      const floor = due <= 0 && !pass.enqueued.length ? Math.min(max, 250) : 0;
      ms = Math.min(max, Math.max(floor, due + 5));
    } else if (pass && !pass.ran) {
      // Another process has the turn: come back within the period, spread out.
      ms = Math.round(max * (0.5 + Math.random() / 2));
    }
    this.#timer = setTimeout(() => this.wake(), ms);
  }
}
