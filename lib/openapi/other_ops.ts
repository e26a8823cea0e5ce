/** The operations of external workers, stats, events and the meta routes. */
import { z } from "zod";
import * as s from "../api_schemas.ts";
import { EXAMPLES } from "./examples.ts";
import type { Kit } from "./kit.ts";

/** Registers them through `kit.op`. */
export function registerOtherOperations(kit: Kit): void {
  const {
    retryAfter,
    wrongHost,
    Job,
    Process,
    Complete,
    Fail,
    Stats,
    Trend,
    idParam,
    jsonBody,
    ok,
    err,
    common,
    bodyErrors,
    notFound,
    noQuery422,
    noQuery400,
    op,
  } = kit;
  op("post", "/api/process", {
    operationId: "claimJob",
    tags: ["external workers"],
    summary: "Claim the next due job (lease JOB_LEASE_SECONDS)",
    request: {
      body: jsonBody(Process, EXAMPLES.claimJob, {
        required: false,
        description: "optional; without `worker` the claim is named `api-<random>`",
      }),
    },
    responses: {
      200: ok(
        "the claimed job (status processing); its `locked_by` and `attempts` are the " +
          "`worker` and `attempt` that complete and fail must send",
        Job,
      ),
      204: { description: "no job is due" },
      ...bodyErrors,
      ...common,
    },
  });
  const fenced = "the job is not processing (`job_not_processing`), or the attempt named " +
    "is no longer the current one (`lease_lost`)";
  op("post", "/api/complete/{id}", {
    operationId: "completeJob",
    tags: ["external workers"],
    summary: "Record the result of a claimed attempt (fenced on worker and attempt)",
    request: {
      params: idParam,
      body: jsonBody(Complete, EXAMPLES.completeJob, {
        description: "`worker` and `attempt` are required: the claim's `locked_by` and " +
          "`attempts` (a call without them is a 422 and changes nothing)",
      }),
    },
    responses: {
      200: ok("the completed job", Job),
      ...notFound,
      409: err(fenced),
      ...bodyErrors,
      ...common,
    },
  });
  op("post", "/api/fail/{id}", {
    operationId: "failJob",
    tags: ["external workers"],
    summary: "Record a failed attempt (retry with backoff, or final; fenced)",
    request: {
      params: idParam,
      body: jsonBody(Fail, EXAMPLES.failJob, {
        description: "`worker` and `attempt` are required: the claim's `locked_by` and " +
          "`attempts` (a call without them is a 422 and changes nothing)",
      }),
    },
    responses: {
      200: ok("the job: pending again (retry scheduled) or failed", Job),
      ...notFound,
      409: err(fenced),
      ...bodyErrors,
      ...common,
    },
  });
  op("get", "/api/stats", {
    operationId: "getStats",
    tags: ["stats"],
    summary: "Jobs per status, plus the total",
    responses: { 200: ok("counts", Stats), ...noQuery422, ...common },
  });
  op("get", "/api/stats/trend", {
    operationId: "getStatsTrend",
    tags: ["stats"],
    summary: "Created / completed / failed per bucket (empty buckets are zeros)",
    request: { query: s.trendQuery },
    responses: {
      200: ok("the series, oldest first", Trend),
      422: err("a bad query (also: bucket=minute over more than 48 hours)"),
      ...common,
    },
  });
  op("get", "/api/events", {
    operationId: "streamEvents",
    tags: ["stats"],
    summary: "Server-Sent Events: a `change` message whenever jobs change (coalesced)",
    request: {
      query: s.eventsQuery.extend({
        lastEventId: s.eventsQuery.shape.lastEventId.describe(
          "the last message id seen, for clients that cannot send Last-Event-ID; " +
            "nothing is replayed",
        ),
      }),
      headers: z.object({
        "Last-Event-ID": z.string().max(64).optional().describe(
          "sent by a reconnecting EventSource; accepted, nothing is replayed (`ready` tells " +
            "the client to refetch)",
        ),
      }),
    },
    responses: {
      200: {
        description:
          "an event stream; `ready` first, then `change` messages and keep-alive comments",
        content: { "text/event-stream": { schema: { type: "string" } } },
      },
      422: err("a query parameter other than lastEventId"),
      ...common,
      503: {
        ...err(
          "`too_many_streams` (1000 per process are open) or `database_unavailable` " +
            "(cannot LISTEN); with Retry-After",
        ),
        headers: retryAfter,
      },
    },
  });
  op("get", "/api/openapi.json", {
    operationId: "getOpenApiDocument",
    tags: ["meta"],
    summary: "This document (no token needed)",
    security: [],
    responses: {
      200: { description: "OpenAPI 3.1", content: { "application/json": {} } },
      ...noQuery422,
      421: err(wrongHost),
    },
  });
  op("get", "/docs", {
    operationId: "getDocsPage",
    tags: ["meta"],
    summary: "Browsable documentation (Swagger UI, served by the app)",
    security: [],
    responses: {
      200: { description: "HTML", content: { "text/html": {} } },
      303: {
        description: "with DASHBOARD_PASSWORD set and no session: to /login",
        headers: { Location: { schema: { type: "string" }, description: "/login?next=/docs" } },
      },
      ...noQuery400,
    },
  });
  op("get", "/healthz", {
    operationId: "checkLiveness",
    tags: ["meta"],
    summary: "Liveness: the process answers",
    security: [],
    responses: { 200: ok("up", z.object({ status: z.literal("ok") })), ...noQuery400 },
  });
  const ready = z.object({
    status: z.enum(["ready", "not_ready"]),
    database: z.enum(["ok", "unreachable"]),
    pending_migrations: z.array(z.string()),
  });
  op("get", "/readyz", {
    operationId: "checkReadiness",
    tags: ["meta"],
    summary: "Readiness: the database answers and every migration is applied",
    security: [],
    responses: { 200: ok("ready", ready), ...noQuery400, 503: ok("not ready", ready) },
  });
  op("get", "/metrics", {
    operationId: "getMetrics",
    tags: ["meta"],
    summary: "Prometheus metrics",
    security: [],
    responses: {
      200: { description: "text exposition", content: { "text/plain": {} } },
      ...noQuery400,
    },
  });
}
