/** The operations on jobs: create, list, batch, bulk, get, cancel, retry, artifact. */
import { z } from "zod";
import * as s from "../api_schemas.ts";
import { EXAMPLES } from "./examples.ts";
import type { Kit } from "./kit.ts";

/** Registers them through `kit.op`. */
export function registerJobOperations(kit: Kit): void {
  const {
    Job,
    JobWithEvents,
    JobPage,
    CreateJob,
    Batch,
    Bulk,
    BulkResult,
    Empty,
    idParam,
    jsonBody,
    ok,
    err,
    common,
    bodyErrors,
    notFound,
    op,
    commaList,
  } = kit;
  op("post", "/api/jobs", {
    operationId: "createJob",
    tags: ["jobs"],
    summary: "Create one job",
    request: { body: jsonBody(CreateJob, EXAMPLES.createJob) },
    responses: {
      201: {
        ...ok("the stored job", Job),
        headers: { Location: { schema: { type: "string" }, description: "/api/jobs/<id>" } },
      },
      ...bodyErrors,
      ...common,
    },
  });
  op("get", "/api/jobs", {
    operationId: "listJobs",
    tags: ["jobs"],
    summary: "List jobs (filters take several values for any-of)",
    request: {
      query: s.listQuery.extend({
        status: s.listQuery.shape.status.meta(commaList(
          "any of these statuses: comma-separated (canonical, `status=pending,failed`); " +
            "repeating the parameter is accepted too",
        )),
        type: s.listQuery.shape.type.meta(commaList(
          "any of these types: comma-separated (canonical); repeating is accepted too",
        )),
        priority: s.listQuery.shape.priority.meta(commaList(
          "any of these priorities: comma-separated (canonical); repeating is accepted too",
        )),
        q: s.listQuery.shape.q.describe("an exact id, or text in the payload (case-insensitive)"),
      }),
    },
    responses: {
      200: ok("a page of jobs and the total of matches", JobPage),
      422: err("a bad filter, sort, limit or offset, or an unknown parameter"),
      ...common,
    },
  });
  op("post", "/api/jobs/batch", {
    operationId: "createJobBatch",
    tags: ["jobs"],
    summary: "Create up to 1000 jobs in one transaction (all or none)",
    request: { body: jsonBody(Batch, EXAMPLES.createJobBatch) },
    responses: {
      201: ok("the stored jobs, in input order", z.object({ items: z.array(Job), count: z.int() })),
      ...bodyErrors,
      ...common,
    },
  });
  op("post", "/api/jobs/bulk", {
    operationId: "bulkJobs",
    tags: ["jobs"],
    summary: "Retry, cancel or delete many jobs in one transaction",
    request: { body: jsonBody(Bulk, EXAMPLES.bulkJobs) },
    responses: { 200: ok("what happened to each id", BulkResult), ...bodyErrors, ...common },
  });
  op("get", "/api/jobs/{id}", {
    operationId: "getJob",
    tags: ["jobs"],
    summary: "One job with its events",
    request: { params: idParam },
    responses: {
      200: ok("the job and its timeline", JobWithEvents),
      ...notFound,
      ...common,
    },
  });
  const emptyBody = (examples: Record<string, unknown>) =>
    jsonBody(Empty, examples, {
      required: false,
      description: "optional; when sent, an empty JSON object",
    });
  op("delete", "/api/jobs/{id}", {
    operationId: "cancelJob",
    tags: ["jobs"],
    summary: "Cancel a pending job",
    request: { params: idParam, body: emptyBody(EXAMPLES.cancelJob) },
    responses: {
      200: ok("the cancelled job", Job),
      ...notFound,
      409: err("the job is not pending"),
      ...bodyErrors,
      ...common,
    },
  });
  op("post", "/api/jobs/{id}/retry", {
    operationId: "retryJob",
    tags: ["jobs"],
    summary: "Retry a failed or cancelled job (back to pending, attempts reset)",
    request: { params: idParam, body: emptyBody(EXAMPLES.retryJob) },
    responses: {
      200: ok(
        "the job, pending again: due now, or at its `scheduled_for` when it was cancelled before that time",
        Job,
      ),
      ...notFound,
      409: err("the job is neither failed nor cancelled"),
      ...bodyErrors,
      ...common,
    },
  });
  op("get", "/api/jobs/{id}/artifact", {
    operationId: "getJobArtifact",
    tags: ["jobs"],
    summary: "Download the file a report job made",
    request: { params: idParam },
    responses: {
      200: {
        description: "the file (CSV or PDF)",
        content: {
          "text/csv": { schema: { type: "string" } },
          "application/pdf": { schema: { type: "string", format: "binary" } },
        },
      },
      404: err("no such job, or it made no file"),
      ...common,
    },
  });
}
