/**
 * Constants about jobs that the queue, the API schemas, routes and islands
 * share. Browser-safe (no imports): islands import it as the queue does, so
 * each list exists once.
 */

/** The five states of a job, in lifecycle order (`sort=status` follows it). */
export const JOB_STATUSES = ["pending", "processing", "completed", "failed", "cancelled"] as const;
export type JobStatus = typeof JOB_STATUSES[number];

/** Columns the job list may sort by (an allow-list: user input never reaches SQL as an identifier). */
export const SORT_COLUMNS = [
  "created_at",
  "updated_at",
  "priority",
  "attempts",
  "scheduled_for",
  "status",
  "type",
  "queue",
] as const;
export type SortColumn = typeof SORT_COLUMNS[number];

/**
 * A job id as Postgres accepts it: 8-4-4-4-12 hex digits, either case. No
 * RegExp flags: the OpenAPI document carries the source as its `pattern`.
 */
export const UUID_RE =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Seconds without a heartbeat after which a worker process is late: shown so, and not counted as serving. */
export const WORKER_LATE_SECONDS = 30;

/**
 * Why a job is not running (`GET /api/jobs/:id/explain`): the reasons of a
 * pending job in the order they are checked, then the states of one that is
 * not pending.
 */
export const EXPLAIN_CODES = [
  "expired",
  "retry_backoff",
  "scheduled",
  "queue_paused",
  "queue_at_limit",
  "no_worker",
  "behind",
  "ready",
  "processing",
  "completed",
  "failed",
  "cancelled",
] as const;
export type ExplainCode = typeof EXPLAIN_CODES[number];
/** A queue name: lower case, a letter first, at most 63 characters (the `queue` tables check the same). */
export const QUEUE_NAME_RE = /^[a-z][a-z0-9_-]{0,62}$/;
/** The queue of a job that names none and whose type names none. */
export const DEFAULT_QUEUE = "default";
