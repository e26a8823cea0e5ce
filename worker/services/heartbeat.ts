/**
 * The heartbeat: owns this process's `worker` row. Registers it at start,
 * updates it every period with what the runners do (the `/workers` page reads
 * it), registers again when another process's rescuer removed it as stale,
 * marks it stopping and removes it at the end.
 */
import type { Sql } from "../../lib/db.ts";
import { log } from "../../lib/log.ts";
import { workers } from "../../lib/queue/mod.ts";
import type { RunnerInfo } from "../../lib/queue/types.ts";
import { delay, describe, withRetry } from "../retry.ts";
import type { DbHealth } from "./health.ts";
import type { Counts } from "./counts.ts";
import { Periodic } from "./periodic.ts";

/** Options of {@link Heartbeat}. */
export interface HeartbeatOptions {
  sql: Sql;
  /** The process's worker id (the row's key). */
  id: string;
  /** Jobs this process runs at once (runners × jobs per runner). */
  concurrency: number;
  /** Jobs one runner runs at once. Default 1. */
  jobsPerRunner?: number;
  /** The queues this process claims from (`WORKER_QUEUES`); null: every queue. */
  queues?: string[] | null;
  health: DbHealth;
  /** Mean period (ms; jittered ±50 %). */
  intervalMs: number;
  /** What each runner does now. */
  runners(): RunnerInfo[];
  /** Attempts finished so far. */
  counts(): Counts;
  /** True while the process stops. */
  stopping(): boolean;
}

/** Keeps this process's worker row. */
export class Heartbeat {
  #o: HeartbeatOptions;
  #periodic: Periodic;
  #startedAt = Date.now();

  constructor(opts: HeartbeatOptions) {
    this.#o = opts;
    this.#periodic = new Periodic(() => this.beat(), {
      ms: opts.intervalMs,
      jitter: true,
      runNow: true,
    });
  }

  /** Inserts (or refreshes) the worker row, retrying through an outage until the process closes. */
  async register(): Promise<void> {
    const o = this.#o;
    await withRetry(
      () =>
        workers.register(o.sql, {
          id: o.id,
          host: Deno.hostname(),
          pid: Deno.pid,
          concurrency: o.concurrency,
          info: {
            runners: o.runners(),
            queues: o.queues ?? null,
            jobs_per_runner: o.jobsPerRunner ?? 1,
          },
        }),
      o.health.hooks("register"),
    );
  }

  /** Beats now (the row shows every runner up at once) and every period after. */
  start(): void {
    this.#periodic.start();
  }

  /** One beat; never rejects (a database error is reported to `health`). */
  async beat(): Promise<void> {
    const o = this.#o;
    const counts = o.counts();
    const info = {
      runners: o.runners(),
      queues: o.queues ?? null,
      jobs_per_runner: o.jobsPerRunner ?? 1,
      completed: counts.completed,
      failed: counts.failed,
      uptime_s: Math.round((Date.now() - this.#startedAt) / 1000),
    };
    try {
      const alive = await workers.heartbeat(o.sql, { id: o.id, info, stopping: o.stopping() });
      o.health.ok();
      if (!alive) {
        await this.register();
        log("info", "worker.reregistered", { worker: o.id });
      }
    } catch (err) {
      o.health.down(err, "heartbeat");
    }
  }

  /** Marks the row stopping at once (not awaited: the stop goes on whatever the database says). */
  stopping(): void {
    workers.heartbeat(this.#o.sql, { id: this.#o.id, stopping: true }).catch(() => {});
  }

  /** Stops beating. */
  stop(): void {
    this.#periodic.stop();
  }

  /** Removes the worker row, waiting at most `timeoutMs` (a failure is logged). */
  async unregister(timeoutMs = 3000): Promise<void> {
    const bound = new AbortController();
    try {
      await Promise.race([
        workers.unregister(this.#o.sql, { id: this.#o.id }),
        delay(timeoutMs, bound.signal).then(() => {
          if (bound.signal.aborted) return;
          throw new Error(`unregister did not finish within ${timeoutMs / 1000} s`);
        }),
      ]);
    } catch (err) {
      log("warn", "worker.unregister_failed", { worker: this.#o.id, error: describe(err) });
    } finally {
      bound.abort();
    }
  }
}
