/**
 * The fence of an external worker's complete/fail call: the `worker` and
 * `attempt` the body names (both required by the body schemas: the
 * `locked_by` and `attempts` that `/api/process` returned). 404 for a missing
 * job, 409 when it is not processing.
 */
import { type Job, jobs } from "../../../lib/queue/mod.ts";
import { HttpError } from "../../../lib/http/errors.ts";
import type { Sql } from "../../../lib/db.ts";
import { jobNotFound } from "./helpers.ts";

/** Checks that job `id` exists and is processing, and returns the fence the caller named. */
export async function fenceFor(
  sql: Sql,
  id: string,
  given: { worker: string; attempt: number },
): Promise<{ id: string; worker: string; attempt: number }> {
  const job = await jobs.get(sql, { id });
  if (!job) throw jobNotFound(id);
  if (job.status !== "processing") throw notProcessing(job);
  return { id, worker: given.worker, attempt: given.attempt };
}

/** 409 for a job that is not processing. */
export function notProcessing(job: Job): HttpError {
  return new HttpError(
    409,
    "job_not_processing",
    `only a processing job can be completed or failed; this one is ${job.status}`,
  );
}

/** 409 after a fenced update matched nothing: the caller no longer holds the job. */
export async function lostLease(sql: Sql, id: string): Promise<HttpError> {
  const job = await jobs.get(sql, { id });
  if (!job) return jobNotFound(id);
  if (job.status !== "processing") return notProcessing(job);
  return new HttpError(
    409,
    "lease_lost",
    "the job is held by another worker or attempt (its lease expired and it was claimed again)",
  );
}
