/** The operations of external workers, stats, events and the meta routes. */
import { z } from "zod";
import * as s from "../api_schemas.ts";
import { EXAMPLES } from "./examples.ts";
import type { Kit } from "./kit.ts";

/** Registers them through `kit.op`. */
export function registerOtherOperations(kit: Kit): void {
  kit.op("post", "/api/process", {
    operationId: "claimJob",
    tags: ["external workers"],
    summary: "Claim the next due job (lease JOB_LEASE_SECONDS)",
    request: {
      body: kit.jsonBody(kit.Process, EXAMPLES.claimJob, {
        required: false,
        description: "optional; without `worker` the claim is named `api-<random>`",
      }),
    },
    responses: {
      200: kit.ok(
        "the claimed job (status processing); its `locked_by` and `attempts` are the " +
          "`worker` and `attempt` that complete and fail must send",
        kit.Job,
      ),
      204: { description: "no job is due" },
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  const fenced = "the job was cancelled (`job_cancelled`: its cancel was requested while it " +
    "ran — this call then records it cancelled — or it had ended cancelled), the job is not " +
    "processing (`job_not_processing`), or the attempt named is no longer the current one " +
    "(`lease_lost`)";
  kit.op("post", "/api/complete/{id}", {
    operationId: "completeJob",
    tags: ["external workers"],
    summary: "Record the result of a claimed attempt (fenced on worker and attempt)",
    request: {
      params: kit.idParam,
      body: kit.jsonBody(kit.Complete, EXAMPLES.completeJob, {
        description: "`worker` and `attempt` are required: the claim's `locked_by` and " +
          "`attempts` (a call without them is a 422 and changes nothing)",
      }),
    },
    responses: {
      200: kit.ok("the completed job", kit.Job),
      ...kit.notFound,
      409: kit.err(fenced),
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("post", "/api/fail/{id}", {
    operationId: "failJob",
    tags: ["external workers"],
    summary: "Record a failed attempt (retry with backoff, or final; fenced)",
    request: {
      params: kit.idParam,
      body: kit.jsonBody(kit.Fail, EXAMPLES.failJob, {
        description: "`worker` and `attempt` are required: the claim's `locked_by` and " +
          "`attempts` (a call without them is a 422 and changes nothing)",
      }),
    },
    responses: {
      200: kit.ok("the job: pending again (retry scheduled) or failed", kit.Job),
      ...kit.notFound,
      409: kit.err(fenced),
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("get", "/api/stats", {
    operationId: "getStats",
    tags: ["stats"],
    summary: "Jobs per status, plus the total",
    responses: { 200: kit.ok("counts", kit.Stats), ...kit.noQuery422, ...kit.common },
  });
  kit.op("get", "/api/stats/trend", {
    operationId: "getStatsTrend",
    tags: ["stats"],
    summary: "Created / completed / failed per bucket (empty buckets are zeros)",
    request: { query: s.trendQuery },
    responses: {
      200: kit.ok("the series, oldest first", kit.Trend),
      422: kit.err("a bad query (also: bucket=minute over more than 48 hours)"),
      ...kit.common,
    },
  });
  kit.op("get", "/api/events", {
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
      422: kit.err("a query parameter other than lastEventId"),
      ...kit.common,
      503: {
        ...kit.err(
          "`too_many_streams` (1000 per process are open) or `database_unavailable` " +
            "(cannot LISTEN); with Retry-After",
        ),
        headers: kit.retryAfter,
      },
    },
  });
  kit.op("get", "/api/openapi.json", {
    operationId: "getOpenApiDocument",
    tags: ["meta"],
    summary: "This document (no token needed)",
    security: [],
    responses: {
      200: { description: "OpenAPI 3.1", content: { "application/json": {} } },
      ...kit.noQuery422,
      421: kit.err(kit.wrongHost),
    },
  });
  kit.op("get", "/docs", {
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
      ...kit.noQuery400,
    },
  });
  kit.op("get", "/healthz", {
    operationId: "checkLiveness",
    tags: ["meta"],
    summary: "Liveness: the process answers",
    security: [],
    responses: { 200: kit.ok("up", z.object({ status: z.literal("ok") })), ...kit.noQuery400 },
  });
  const ready = z.object({
    status: z.enum(["ready", "not_ready"]),
    database: z.enum(["ok", "unreachable"]),
    pending_migrations: z.array(z.string()),
  });
  kit.op("get", "/readyz", {
    operationId: "checkReadiness",
    tags: ["meta"],
    summary: "Readiness: the database answers and every migration is applied",
    security: [],
    responses: { 200: kit.ok("ready", ready), ...kit.noQuery400, 503: kit.ok("not ready", ready) },
  });
  kit.op("get", "/metrics", {
    operationId: "getMetrics",
    tags: ["meta"],
    summary: "Prometheus metrics",
    security: [],
    responses: {
      200: { description: "text exposition", content: { "text/plain": {} } },
      ...kit.noQuery400,
    },
  });
}
