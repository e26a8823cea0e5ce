/** The operations on jobs: create, list, batch, bulk, get, cancel, retry, artifact. */
import { z } from "zod";
import * as s from "../api_schemas.ts";
import { EXAMPLES } from "./examples.ts";
import type { Kit } from "./kit.ts";

/** Registers them through `kit.op`. */
export function registerJobOperations(kit: Kit): void {
  kit.op("post", "/api/jobs", {
    operationId: "createJob",
    tags: ["jobs"],
    summary: "Create one job",
    request: { body: kit.jsonBody(kit.CreateJob, EXAMPLES.createJob) },
    responses: {
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
          "an exact id, or text in the payload or the queue name (case-insensitive)",
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
        "the stored jobs, in input order",
        z.object({ items: z.array(kit.Job), count: z.int() }),
      ),
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("post", "/api/jobs/bulk", {
    operationId: "bulkJobs",
    tags: ["jobs"],
    summary: "Retry, cancel or delete many jobs in one transaction",
    request: { body: kit.jsonBody(kit.Bulk, EXAMPLES.bulkJobs) },
    responses: {
      200: kit.ok("what happened to each id", kit.BulkResult),
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
  const emptyBody = (examples: Record<string, unknown>) =>
    kit.jsonBody(kit.Empty, examples, {
      required: false,
      description: "optional; when sent, an empty JSON object",
    });
  kit.op("delete", "/api/jobs/{id}", {
    operationId: "cancelJob",
    tags: ["jobs"],
    summary: "Cancel a pending job",
    request: { params: kit.idParam, body: emptyBody(EXAMPLES.cancelJob) },
    responses: {
      200: kit.ok("the cancelled job", kit.Job),
      ...kit.notFound,
      409: kit.err("the job is not pending"),
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("post", "/api/jobs/{id}/retry", {
    operationId: "retryJob",
    tags: ["jobs"],
    summary: "Retry a failed or cancelled job (back to pending, attempts reset)",
    request: { params: kit.idParam, body: emptyBody(EXAMPLES.retryJob) },
    responses: {
      200: kit.ok(
        "the job, pending again: due now, or at its `scheduled_for` when it was cancelled before that time",
        kit.Job,
      ),
      ...kit.notFound,
      409: kit.err("the job is neither failed nor cancelled"),
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
