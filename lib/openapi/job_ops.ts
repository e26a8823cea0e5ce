/** The operations on jobs: create, list, batch, bulk, get, cancel, retry, artifact. */
import { z } from "zod";
import * as s from "../api_schemas.ts";
import * as b from "../bulk_schemas.ts";
import { EXAMPLES } from "./examples.ts";
import type { Kit } from "./kit.ts";

/** Registers them through `kit.op`. */
export function registerJobOperations(kit: Kit): void {
  kit.op("post", "/api/jobs", {
    operationId: "createJob",
    tags: ["jobs"],
    summary: "Create one job (or get the pending or processing job that holds its unique_key)",
    request: { body: kit.jsonBody(kit.CreateJob, EXAMPLES.createJob) },
    responses: {
      200: {
        ...kit.ok(
          "a pending or processing job already holds this `unique_key`: that job, nothing stored",
          kit.Job,
        ),
        headers: { Location: { schema: { type: "string" }, description: "/api/jobs/<id>" } },
      },
      201: {
        ...kit.ok("the stored job", kit.Job),
        headers: { Location: { schema: { type: "string" }, description: "/api/jobs/<id>" } },
      },
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("get", "/api/jobs", {
    operationId: "listJobs",
    tags: ["jobs"],
    summary: "List jobs (filters take several values for any-of)",
    request: {
      query: s.listQuery.extend({
        status: s.listQuery.shape.status.meta(kit.commaList(
          "any of these statuses: comma-separated (canonical, `status=pending,failed`); " +
            "repeating the parameter is accepted too",
        )),
        type: s.listQuery.shape.type.meta(kit.commaList(
          "any of these types: comma-separated (canonical); repeating is accepted too",
        )),
        priority: s.listQuery.shape.priority.meta(kit.commaList(
          "any of these priorities: comma-separated (canonical); repeating is accepted too",
        )),
        queue: s.listQuery.shape.queue.meta(kit.commaList(
          "any of these queues: comma-separated (canonical); repeating is accepted too",
        )),
        q: s.listQuery.shape.q.describe(
          "an id or its start (4+ hex digits), or text in one of the payload's values (not its key names) or in the queue name (case-insensitive)",
        ),
      }),
    },
    responses: {
      200: kit.ok("a page of jobs and the total of matches", kit.JobPage),
      422: kit.err("a bad filter, sort, limit or offset, or an unknown parameter"),
      ...kit.common,
    },
  });
  kit.op("post", "/api/jobs/batch", {
    operationId: "createJobBatch",
    tags: ["jobs"],
    summary: "Create up to 1000 jobs in one transaction (all or none)",
    request: { body: kit.jsonBody(kit.Batch, EXAMPLES.createJobBatch) },
    responses: {
      201: kit.ok(
        "the jobs in input order: each stored, or (`existed[i]` true) the pending or processing " +
          "job that held the item's `unique_key` — also one stored by an earlier item of the batch",
        z.object({
          items: z.array(kit.Job),
          count: z.int().describe("items.length"),
          existed: z.array(z.boolean()).describe(
            "per item: true when items[i] was already there (its unique_key was held), nothing stored for it",
          ),
          created: z.int().min(0).describe("jobs stored by this request"),
        }),
      ),
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("post", "/api/jobs/bulk", {
    operationId: "bulkJobs",
    tags: ["jobs"],
    summary: "Retry, cancel or delete many jobs: by ids, or every job matching a filter",
    description: "With `ids` (1–1000): one transaction, an outcome per id. `cancel` cancels " +
      "pending jobs and asks running ones to stop (their outcome is `done` with status " +
      "`processing`: they end cancelled, as with DELETE /api/jobs/{id}). With `filter` (the " +
      "list's filters): every job matching it, in a status the action applies to, at that " +
      "moment, changed in batches of 2000 per transaction (`count` changed, `skipped` moved on " +
      "before their batch); `dry_run: true` only counts them (`{action, count, dry_run}`). " +
      "An empty filter matches every job: `delete` takes it only with `all: true`. A cancel " +
      "or retry that changed something returns `undo` (POST /api/jobs/bulk/undo within 60 s).",
    request: { body: kit.jsonBody(kit.Bulk, EXAMPLES.bulkJobs) },
    responses: {
      200: kit.ok(
        "by ids: what happened to each id; by filter: the counts; dry run: the count",
        z.union([kit.BulkResult, b.bulkFilterResponse, b.bulkDryRunResponse]),
      ),
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("get", "/api/jobs/{id}", {
    operationId: "getJob",
    tags: ["jobs"],
    summary: "One job with its events",
    request: { params: kit.idParam },
    responses: {
      200: kit.ok("the job and its timeline", kit.JobWithEvents),
      ...kit.notFound,
      ...kit.common,
    },
  });
  kit.op("get", "/api/jobs/{id}/explain", {
    operationId: "explainJob",
    tags: ["jobs"],
    summary: "Why a job is not running: the first reason that holds",
    description: "For a pending job, the first of: `expired` (its deadline passed), " +
      "`retry_backoff` or `scheduled` (with `until`), `queue_paused`, `queue_at_limit` " +
      "(N of N running), `no_worker` (no live worker process serves its queue), `behind` " +
      "(N due jobs ahead of it in its queue), `ready`. A job that is not pending answers " +
      "its state (`processing`, `completed`, `failed`, `cancelled`).",
    request: { params: kit.idParam },
    responses: {
      200: kit.ok("the reason, in a sentence and as a code", s.explainResponse),
      ...kit.notFound,
      ...kit.common,
    },
  });
  const emptyBody = (examples: Record<string, unknown>) =>
    kit.jsonBody(kit.Empty, examples, {
      required: false,
      description: "optional; when sent, an empty JSON object",
    });
  kit.op("delete", "/api/jobs/{id}", {
    operationId: "cancelJob",
    tags: ["jobs"],
    summary: "Cancel a job: a pending one at once, a running one by stopping its handler",
    description: "A pending job ends `cancelled` at once (200). A processing job gets " +
      "`cancel_requested_at`; the worker running it aborts its handler's signal and the job " +
      "ends `cancelled` (not retried) when the handler stops, or when its Web Worker is " +
      "terminated after `CANCEL_GRACE_SECONDS` (202). Asking again for a running job " +
      "changes nothing (202).",
    request: { params: kit.idParam, body: emptyBody(EXAMPLES.cancelJob) },
    responses: {
      200: kit.ok("the cancelled job", kit.Job),
      202: kit.ok(
        "the running job, still `processing`, with `cancel_requested_at` set: it ends cancelled",
        kit.Job,
      ),
      ...kit.notFound,
      409: kit.err("the job has already ended (`job_not_pending`)"),
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("post", "/api/jobs/{id}/retry", {
    operationId: "retryJob",
    tags: ["jobs"],
    summary: "Retry a failed or cancelled job (back to pending, attempts reset), " +
      "optionally with a new payload, priority or queue",
    description: "Without a body (or with `{}`) the job goes back to pending as it was. With " +
      "`payload`, `priority` or `queue`, the job is edited first, in the same transaction: " +
      "the payload must pass the job type's schema (as on create; 422 with the issues under " +
      "`payload.`, nothing changed), the fields that differ are written, and an `edited` " +
      "event keeps the previous values in its `data` " +
      "(`{changed, previous: {payload, priority, queue}}`); then the `retried` event. A " +
      "field equal to the job's is no change. The job must be failed or cancelled whatever " +
      "the body (409 otherwise, checked before the payload).",
    request: {
      params: kit.idParam,
      body: kit.jsonBody(kit.RetryBody, EXAMPLES.retryJob, {
        required: false,
        description: "optional; what to change before the retry",
      }),
    },
    responses: {
      200: kit.ok(
        "the job, pending again: due now, or at its `scheduled_for` when it was cancelled before that time",
        kit.Job,
      ),
      ...kit.notFound,
      409: kit.err(
        "`job_not_retryable`: the job is neither failed nor cancelled; `unique_key_taken`: a " +
          "pending or processing job holds its unique_key (an edit is not kept either)",
      ),
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("get", "/api/jobs/{id}/artifact", {
    operationId: "getJobArtifact",
    tags: ["jobs"],
    summary: "Download the file a report job made",
    request: { params: kit.idParam },
    responses: {
      200: {
        description: "the file (CSV or PDF)",
        content: {
          "text/csv": { schema: { type: "string" } },
          "application/pdf": { schema: { type: "string", format: "binary" } },
        },
      },
      404: kit.err("no such job, or it made no file"),
      ...kit.common,
    },
  });
}
