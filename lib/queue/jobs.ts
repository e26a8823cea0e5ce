/**
 * Every statement on `job` (and the `job_event` rows its state changes
 * write), one operation a module, gathered here so callers keep writing
 * `jobs.claim`, `jobs.cancel`, …. Every function takes `sql` (pool or
 * transaction) first, then one options object; `now: null` (the default)
 * means the database clock.
 */

// Producers.
export {
  enqueue,
  enqueueBatch,
  enqueueBatchUnique,
  type Enqueued,
  type EnqueuedBatch,
  enqueueFromForm,
  enqueueMany,
  enqueueUnique,
  type NewJob,
} from "./enqueue.ts";

// The worker's hot path: claim, complete, fail, release, lease, rescue.
export { claim, type ClaimOptions, type LeanJob } from "./claim.ts";
export {
  complete,
  completeIds,
  completeMany,
  type CompleteManyOptions,
  completeOrThrow,
  type Fence,
  jobCancelled,
} from "./complete.ts";
export { fail, type FailOptions, failOrThrow, type RetryPolicy } from "./fail.ts";
export { heldBy, release, statementsRunning } from "./release.ts";
export { extendLease, renewLeases } from "./lease.ts";
export { PROGRESS_MESSAGE_MAX, setProgress } from "./progress.ts";
export { type Rescued, rescueExpired } from "./rescue.ts";
export { type Expired, expireDue, expirePass } from "./expire.ts";

// The admin side: list, get, cancel, retry, remove.
export { list, type ListPage, type ListQuery, SORT_COLUMNS, type SortColumn } from "./list.ts";
export { get, getWithEvents } from "./get.ts";
export { explain, type Explanation } from "./explain.ts";
export { cancel } from "./cancel.ts";
export { retry, type RetryEdit, type RetryOptions } from "./retry.ts";
export { remove, removeMany } from "./remove.ts";
