/** Row types of the queue tables; fields keep the column names (snake_case). */

import type { JobStatus } from "../job_constants.ts";
export { JOB_STATUSES, type JobStatus } from "../job_constants.ts";

/** Lifecycle event kinds recorded in `job_event`. */
export const EVENT_KINDS = [
  "created",
  "claimed",
  "completed",
  "failed",
  "rescued",
  "cancelled",
  "retried",
  "released",
  "expired",
  "edited",
  "restored",
] as const;
export type EventKind = typeof EVENT_KINDS[number];

/** A row of `job`. Times are `Date`s; JSON columns are parsed values. */
export interface Job {
  id: string;
  type: string;
  status: JobStatus;
  priority: number;
  payload: unknown;
  result: unknown;
  error: string | null;
  attempts: number;
  max_attempts: number;
  created_at: Date;
  updated_at: Date;
  scheduled_for: Date;
  started_at: Date | null;
  completed_at: Date | null;
  locked_by: string | null;
  locked_until: Date | null;
  /** The named queue (`default` unless the job or its type names one). */
  queue: string;
  /** While a job with this key is pending or processing, creating another returns it. */
  unique_key: string | null;
  /** The handler's last `ctx.progress(percent, message)`, or null. */
  progress: { percent: number; message: string | null; at: string } | null;
  /** When a cancel of the running job was asked for. */
  cancel_requested_at: Date | null;
  /** Bound of one attempt in seconds (null: the type's default). */
  timeout_seconds: number | null;
  /** Not started by then → cancelled with an `expired` event. */
  expires_at: Date | null;
}

/** A row of `job_event`. */
export interface JobEvent {
  id: number;
  job_id: string;
  at: Date;
  kind: EventKind;
  attempt: number;
  worker: string | null;
  message: string | null;
  /**
   * What the event keeps besides its message (null for most kinds). An
   * `edited` event: `{changed, previous: {payload, priority, queue}}`.
   */
  data: Record<string, unknown> | null;
}

/** A row of `worker`. */
/**
 * One Web Worker (runner) of a process, as the process's heartbeat writes it
 * into `worker.info.runners`: its lease owner name (`<worker id>/<n>`), its
 * state, and the job its handler runs now with how long it had run (ms) at
 * that heartbeat.
 */
export interface RunnerInfo {
  worker: string;
  state?: string;
  job?: string;
  running_ms?: number;
}

export interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  started_at: Date;
  heartbeat_at: Date;
  stopping: boolean;
  info: Record<string, unknown>;
}

/** Counts by status, plus their total. */
export type StatusCounts = Record<JobStatus, number> & { total: number };

/** Thrown when a job does not exist. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
  constructor(public readonly code: string, message: string) {
    super(message);
  }
}

/** Thrown when a job exists but is not in a state that allows the change. */
export class ConflictError extends Error {
  override name = "ConflictError";
  constructor(public readonly code: string, message: string) {
    super(message);
  }
}
