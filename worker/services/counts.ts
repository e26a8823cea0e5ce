/**
 * The worker process's running totals: what the heartbeat, `/healthz` and
 * the stop log line show. {@link WorkerMetrics} (metrics.ts) adds the
 * Prometheus registry behind `/metrics`; a process that serves no `/metrics`
 * keeps these totals only and never loads prom-client.
 */
import type { Finished } from "../protocol.ts";

/** Attempts finished by this process, by outcome. */
export interface Counts {
  completed: number;
  failed: number;
  /** Attempts that ended cancelled (their cancel was requested while they ran). */
  cancelled?: number;
  lost: number;
  released: number;
}

/** The totals of one worker process (see the module comment). */
export class WorkerCounts {
  readonly counts: Counts = { completed: 0, failed: 0, cancelled: 0, lost: 0, released: 0 };

  /**
   * Counts one finished attempt. `timed`: a completed or failed attempt a
   * runner ran (a failure written on a dead runner's behalf is not).
   */
  finished(f: Pick<Finished, "job" | "outcome" | "ms">, _timed = true): void {
    this.counts[f.outcome] = (this.counts[f.outcome] ?? 0) + 1;
  }

  /** Counts jobs given back without an attempt by the supervisor (runner gone). */
  released(n: number): void {
    this.counts.released += n;
  }

  /** Counts jobs the rescuer returned (only `/metrics` shows them). */
  rescued(_n: number): void {}

  /** Counts a runner terminated and replaced (only `/metrics` shows them). */
  replaced(_reason: string): void {}
}
