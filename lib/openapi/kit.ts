/**
 * The OpenAPI registry's shared parts: the registered component schemas, the
 * answers every operation shares, and `op`, which registers an operation (a
 * GET with its HEAD twin).
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import * as s from "../api_schemas.ts";
import * as b from "../bulk_schemas.ts";
import { createJobSchema } from "../jobs/mod.ts";
import { createScheduleBody, patchScheduleBody } from "../schedules/schema.ts";

/** Registers the schemas on `r` and returns what the operations are built from. */
export function makeKit(r: OpenAPIHono["openAPIRegistry"]) {
  const reg = <T extends z.ZodType>(name: string, schema: T): T => r.register(name, schema.clone());
  const Job = reg("Job", s.jobResponse);
  const JobEvent = reg("JobEvent", s.jobEventResponse);
  const JobWithEvents = reg("JobWithEvents", s.jobResponse.extend({ events: z.array(JobEvent) }));
  const JobPage = reg("JobPage", s.jobPageResponse.extend({ items: z.array(Job) }));
  const CreateJob = reg("CreateJob", createJobSchema);
  const Batch = reg("CreateJobBatch", s.batchOf(CreateJob));
  const Bulk = reg("BulkAction", b.bulkBody);
  const BulkResult = reg("BulkResult", b.bulkResponse);
  const Empty = reg("EmptyBody", s.emptyBody);
  const RetryBody = reg("RetryRequest", s.retryBody);
  const Process = reg("ProcessRequest", s.processBody);
  const Complete = reg("CompleteRequest", s.completeBody);
  const Fail = reg("FailRequest", s.failBody);
  const Stats = reg("Stats", s.statsResponse);
  const Trend = reg("Trend", s.trendResponse);
  const Queue = reg("Queue", s.queueResponse);
  const QueueList = reg("QueueList", s.queueListResponse.extend({ items: z.array(Queue) }));
  const QueuePatch = reg("QueuePatch", s.queuePatchBody);
  const ErrorBody = reg("Error", s.errorResponse);
  const Schedule = reg("Schedule", s.scheduleResponse);
  const ScheduleList = reg(
    "ScheduleList",
    s.scheduleListResponse.extend({
      items: z.array(Schedule),
    }),
  );
  const CreateSchedule = reg("CreateSchedule", createScheduleBody);
  const PatchSchedule = reg("PatchSchedule", patchScheduleBody);

  const idParam = z.object({ id: z.uuid().describe("job id") });
  const jsonBody = (
    schema: z.ZodType,
    examples: Record<string, unknown>,
    opts: { required?: boolean; description?: string } = {},
  ) => ({
    required: opts.required ?? true,
    description: opts.description,
    content: {
      "application/json": {
        schema,
        examples: Object.fromEntries(
          Object.entries(examples).map(([name, value]) => [name, { value }]),
        ),
      },
    },
  });
  const ok = (description: string, schema: z.ZodType) => ({
    description,
    content: { "application/json": { schema } },
  });
  const err = (description: string) => ({
    description,
    content: { "application/json": { schema: ErrorBody } },
  });
  const retryAfter = {
    "Retry-After": { schema: { type: "string" as const }, description: "seconds to wait" },
  };
  const dbDown = {
    503: {
      ...err("`database_unavailable`: the database is not reachable (with Retry-After)"),
      headers: retryAfter,
    },
  };
  const wrongHost =
    "`misdirected_request`: the Host header names none of loopback, HOST, PUBLIC_URL or " +
    "ALLOWED_HOSTS (refused before any handler, against DNS rebinding)";
  /** Every /api route but the document: token, database, crash. */
  const common = {
    401: err("missing or wrong bearer token (when API_TOKEN is set)"),
    421: err(wrongHost),
    500: err("unexpected error (the body carries a request_id that is also logged)"),
    ...dbDown,
  };
  /** POST and DELETE: refused from another origin, and bodies have limits. */
  const unsafe = {
    403: err("`cross_origin_request`: a browser's write from another origin or site"),
    413: err("body over the limit (BODY_LIMIT_BYTES, 1 MiB; 8 MiB for a batch)"),
    415: err("Content-Type is not application/json"),
  };
  const bodyErrors = {
    ...unsafe,
    400: err("malformed JSON, empty or too deeply nested body"),
    422: err("validation failed; `issues` lists every field"),
  };
  const notFound = { 404: err("no such job (a malformed id is also 404)") };
  const noQuery422 = { 422: err("`validation_failed`: this route takes no query parameters") };
  /** The meta routes outside /api: a query is refused, a wrong Host is 421 in plain text. */
  const noQuery400 = {
    400: err("`unexpected_query`: this route takes no query parameters"),
    421: { description: wrongHost, content: { "text/plain": {} } },
  };

  /** Registers an operation; a GET gets its HEAD twin (same answers, no body). */
  const op = (
    method: "get" | "post" | "patch" | "delete",
    path: string,
    spec: Omit<Parameters<typeof r.registerPath>[0], "method" | "path">,
  ) => {
    r.registerPath({ method, path, ...spec });
    if (method !== "get") return;
    const responses = Object.fromEntries(
      Object.entries(spec.responses).map(([code, res]) => [code, {
        description: `${(res as { description: string }).description} (headers only)`,
        headers: (res as { headers?: Record<string, unknown> }).headers,
      }]),
    );
    r.registerPath({
      method: "head",
      path,
      ...spec,
      operationId: `${spec.operationId}Head`,
      summary: `${spec.summary} (HEAD: the headers of the GET, no body)`,
      responses: responses as typeof spec.responses,
    });
  };
  const commaList = (description: string) => ({
    description,
    param: { style: "form" as const, explode: false },
  });

  return {
    reg,
    retryAfter,
    wrongHost,
    Job,
    JobWithEvents,
    JobPage,
    CreateJob,
    Batch,
    Bulk,
    BulkResult,
    Empty,
    RetryBody,
    Process,
    Complete,
    Fail,
    Stats,
    Trend,
    Schedule,
    ScheduleList,
    CreateSchedule,
    PatchSchedule,
    Queue,
    QueueList,
    QueuePatch,
    idParam,
    jsonBody,
    ok,
    err,
    common,
    unsafe,
    bodyErrors,
    notFound,
    noQuery422,
    noQuery400,
    op,
    commaList,
  };
}

/** What {@link makeKit} returns. */
export type Kit = ReturnType<typeof makeKit>;
