/** The handler contract: what a handlers module exports and what a handler receives. */
import type { JobContext } from "../lib/jobs/common.ts";
import type {
  FailureRow,
  SlowRow,
  SummaryRow,
  ThroughputRow,
  Totals,
} from "../lib/queue/reports.ts";

/** Everything a report needs, read in one go. */
export interface ReportSet {
  summary: SummaryRow[];
  failures: FailureRow[];
  throughput: ThroughputRow[];
  slowest: SlowRow[];
  totals: Totals;
}

/** The context the worker passes to handlers: {@link JobContext} plus report data. */
export interface WorkerContext extends JobContext {
  /** Every dataset of a report over jobs in [from, to] (ISO dates, inclusive). */
  reportSet(q: { from: string; to: string }): Promise<ReportSet>;
}

/** Runs one job type. */
export interface Handler {
  /** Seconds one attempt may run; then the signal aborts and the attempt fails as timed out. */
  timeoutSeconds: number;
  /** Runs one attempt. The value returned must be JSON; throwing fails the attempt. */
  run(payload: unknown, ctx: WorkerContext): Promise<unknown>;
}

/** Job type name → handler; a handlers module exports one as `handlers`. */
export type HandlerMap = Record<string, Handler>;
