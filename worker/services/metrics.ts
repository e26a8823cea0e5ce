/**
 * The worker process's figures: the Prometheus registry behind `/metrics`,
 * on top of the running totals of the heartbeat, `/healthz` and the stop log
 * line (counts.ts). Only a process that serves `/metrics` loads this module.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Finished } from "../protocol.ts";
import { WorkerCounts } from "./counts.ts";

export type { Counts } from "./counts.ts";

/** What the gauges read when scraped. */
export interface GaugeSources {
  /** Web Workers running a job now. */
  busy(): number;
  /** Web Workers up (state "running"). */
  runners(): number;
  /** True while the database answers. */
  databaseUp(): boolean;
}

/** Counters, histogram and gauges of one worker process (a registry of its own). */
export class WorkerMetrics extends WorkerCounts {
  readonly registry = new Registry();
  #jobs: Counter<"type" | "outcome">;
  #duration: Histogram<"type">;
  #rescued: Counter;
  #replaced: Counter<"reason">;

  constructor(sources: GaugeSources) {
    super();
    const registers = [this.registry];
    this.#jobs = new Counter({
      name: "jobq_worker_jobs_total",
      help: "Attempts finished by this process, by type and outcome",
      labelNames: ["type", "outcome"],
      registers,
    });
    this.#duration = new Histogram({
      name: "jobq_worker_job_duration_seconds",
      help: "Run time of attempts, by type",
      labelNames: ["type"],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    });
    this.#rescued = new Counter({
      name: "jobq_worker_rescued_total",
      help: "Jobs whose expired lease this process's rescuer returned",
      registers,
    });
    this.#replaced = new Counter({
      name: "jobq_worker_runner_replacements_total",
      help: "Web Workers terminated and replaced, by reason",
      labelNames: ["reason"],
      registers,
    });
    new Gauge({
      name: "jobq_worker_runners_busy",
      help: "Jobs running now (a Web Worker may run several at once: WORKER_JOBS_PER_RUNNER)",
      registers,
      collect() {
        this.set(sources.busy());
      },
    });
    new Gauge({
      name: "jobq_worker_runners",
      help: "Web Workers of this process",
      registers,
      collect() {
        this.set(sources.runners());
      },
    });
    new Gauge({
      name: "jobq_worker_database_up",
      help: "1 while the database answers, 0 during an outage",
      registers,
      collect() {
        this.set(sources.databaseUp() ? 1 : 0);
      },
    });
  }

  /**
   * Counts one finished attempt. `timed`: a completed or failed attempt a
   * runner ran (its run time goes into the histogram); a failure written on a
   * dead runner's behalf is counted but not timed.
   */
  override finished(f: Pick<Finished, "job" | "outcome" | "ms">, timed = true): void {
    this.#jobs.inc({ type: f.job.type, outcome: f.outcome });
    if (timed && (f.outcome === "completed" || f.outcome === "failed")) {
      this.#duration.observe({ type: f.job.type }, f.ms / 1000);
    }
    super.finished(f, timed);
  }

  /** Counts jobs the rescuer returned. */
  override rescued(n: number): void {
    this.#rescued.inc(n);
  }

  /** Counts a runner terminated and replaced. */
  override replaced(reason: string): void {
    this.#replaced.inc({ reason });
  }
}
