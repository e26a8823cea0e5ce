/**
 * A client of the API built only from its OpenAPI document: openapi-fetch
 * typed by the `paths` that openapi-typescript generates. `everyOperation`
 * calls every documented operation, with valid requests (type-checked against
 * the generated types: no casts) and invalid ones (cast on purpose), and hands
 * each answer to `expect`. Imports nothing but openapi-fetch and the types, so
 * the test can type-check a copy of it next to freshly generated types.
 */
import createClient from "openapi-fetch";
import type { paths } from "./openapi_paths.ts";

/** The generated client. */
export type Client = ReturnType<typeof createClient<paths>>;

/** Builds the client; list filters go out comma-separated, the document's canonical form. */
export function apiClient(baseUrl: string, fetch: typeof globalThis.fetch, token: string): Client {
  return createClient<paths>({
    baseUrl,
    fetch,
    headers: { Authorization: `Bearer ${token}` },
    querySerializer: { array: { style: "form", explode: false } },
  });
}

/**
 * What a call's sender knows beyond the status: `bodyValid` / `queryValid`
 * say whether the document itself accepts what was sent (by default: valid
 * exactly when a 2xx is expected). A 4xx with a valid body is a rule the
 * document states only in words (a real calendar date, from ≤ to, …).
 */
export interface Expectation {
  bodyValid?: boolean;
  queryValid?: boolean;
}

/** Checks one answer (status, and whatever the test validates); returns it. */
export type Expect = (
  result: { response: Response; data?: unknown; error?: unknown },
  status: number,
  opts?: Expectation,
) => void;

/** Rows the test arranged: a report job with a file. */
export interface Fixtures {
  reportWithFile: string;
}

const MISSING = "00000000-0000-4000-8000-000000000000";
const email = (to: string) => ({
  type: "email" as const,
  payload: { to, subject: "Hello", body: "A body" },
});
const report = (from: string, to: string) => ({
  type: "report" as const,
  payload: { report_type: "failures" as const, format: "csv" as const, date_range: { from, to } },
});

/** Calls every operation of the document, valid and invalid. */
export async function everyOperation(c: Client, x: Expect, f: Fixtures): Promise<void> {
  // ---- jobs
  const created = await c.POST("/api/jobs", { body: { ...email("ada@example.com"), priority: 5 } });
  x(created, 201);
  const job = created.data!;
  x(await c.POST("/api/jobs", { body: email("not an address") }), 422);
  x(
    await c.POST("/api/jobs", { body: { ...email("a@example.com"), priority: "3" } as never }),
    422,
  );
  x(await c.POST("/api/jobs", { body: report("2026-02-30", "2026-03-01") }), 422, {
    bodyValid: true,
  });
  x(await c.POST("/api/jobs", { body: report("2026-03-02", "2026-03-01") }), 422, {
    bodyValid: true,
  });
  x(
    await c.POST("/api/jobs", {
      body: email("a@example.com"),
      headers: { "Content-Type": "text/plain" },
    }),
    415,
  );
  const huge = {
    type: "email" as const,
    payload: { to: "a@example.com", subject: "big", body: "x".repeat(1_100_000) },
  };
  x(await c.POST("/api/jobs", { body: huge }), 413, { bodyValid: false });
  x(await c.GET("/api/stats", { headers: { Authorization: "Bearer wrong" } }), 401);

  const batch = await c.POST("/api/jobs/batch", {
    body: {
      jobs: [email("b@example.com"), email("c@example.com"), report("2026-01-01", "2026-01-31")],
    },
  });
  x(batch, 201);
  const [b1, b2] = batch.data!.items;
  x(await c.POST("/api/jobs/batch", { body: { jobs: [] } }), 422);
  x(
    await c.POST("/api/jobs/batch", { body: { jobs: Array(1001).fill(email("d@example.com")) } }),
    422,
  );

  const listed = await c.GET("/api/jobs", {
    params: {
      query: {
        status: ["pending", "failed"],
        type: ["email", "report"],
        priority: [3, 5],
        q: "example.com",
        sort: "priority",
        order: "desc",
        limit: 10,
        offset: 0,
      },
    },
  });
  x(listed, 200);
  x(await c.GET("/api/jobs", { params: { query: { status: ["bogus"] as never } } }), 422);
  x(await c.GET("/api/jobs", { params: { query: { limit: 0 } } }), 422);
  x(await c.GET("/api/jobs", { params: { query: { colour: "red" } as never } }), 422);

  x(await c.GET("/api/jobs/{id}", { params: { path: { id: job.id } } }), 200);
  x(await c.GET("/api/jobs/{id}", { params: { path: { id: MISSING } } }), 404);
  x(await c.GET("/api/jobs/{id}", { params: { path: { id: "nope" } } }), 404);
  x(await c.GET("/api/jobs/{id}/explain", { params: { path: { id: job.id } } }), 200);
  x(await c.GET("/api/jobs/{id}/explain", { params: { path: { id: MISSING } } }), 404);
  x(await c.HEAD("/api/jobs/{id}/explain", { params: { path: { id: job.id } } }), 200);
  x(await c.GET("/api/jobs/{id}/explain", { params: { path: { id: "nope" } } }), 404);
  x(await c.HEAD("/api/jobs/{id}/explain", { params: { path: { id: "nope" } } }), 404);

  x(
    await c.POST("/api/jobs/bulk", {
      body: { action: "cancel", ids: [b1.id.toUpperCase(), MISSING] },
    }),
    200,
  );
  x(await c.POST("/api/jobs/bulk", { body: { action: "cancel", ids: ["nope"] } }), 422);
  x(await c.POST("/api/jobs/bulk", { body: { action: "cancel", ids: [] } }), 422);
  x(await c.POST("/api/jobs/bulk", { body: { action: "archive", ids: [MISSING] } as never }), 422);
  const undone = await c.POST("/api/jobs/bulk", { body: { action: "cancel", ids: [b2.id] } });
  x(undone, 200);
  const undoId = (undone.data as unknown as { undo?: { id: string } }).undo?.id;
  if (!undoId) throw new Error("a bulk cancel of a pending job offers an undo");
  x(await c.POST("/api/jobs/bulk/undo", { body: { undo_id: undoId } }), 200);
  x(await c.POST("/api/jobs/bulk/undo", { body: { undo_id: undoId } }), 410);
  x(await c.POST("/api/jobs/bulk/undo", { body: { undo_id: "nope" } }), 422);

  x(await c.DELETE("/api/jobs/{id}", { params: { path: { id: job.id } } }), 200);
  x(await c.DELETE("/api/jobs/{id}", { params: { path: { id: job.id } } }), 409);
  x(await c.DELETE("/api/jobs/{id}", { params: { path: { id: b2.id } }, body: {} }), 200);
  x(
    await c.DELETE("/api/jobs/{id}", {
      params: { path: { id: b2.id } },
      body: { reason: "x" } as never,
    }),
    422,
  );
  x(await c.DELETE("/api/jobs/{id}", { params: { path: { id: MISSING } } }), 404);

  x(await c.POST("/api/jobs/{id}/retry", { params: { path: { id: job.id } } }), 200);
  x(await c.POST("/api/jobs/{id}/retry", { params: { path: { id: job.id } } }), 409);
  x(await c.POST("/api/jobs/{id}/retry", { params: { path: { id: b2.id } }, body: {} }), 200);
  x(
    await c.POST("/api/jobs/{id}/retry", {
      params: { path: { id: b1.id } },
      body: { force: true } as never,
    }),
    422,
  );

  x(
    await c.GET("/api/jobs/{id}/artifact", {
      params: { path: { id: f.reportWithFile } },
      parseAs: "text",
    }),
    200,
  );
  x(await c.GET("/api/jobs/{id}/artifact", { params: { path: { id: job.id } } }), 404);

  // ---- external workers
  const claimed = await c.POST("/api/process", { body: { worker: "ext-1", types: ["email"] } });
  x(claimed, 200);
  const one = claimed.data!;
  const fence = { worker: one.locked_by!, attempt: one.attempts };
  x(
    await c.POST("/api/complete/{id}", { params: { path: { id: one.id } }, body: {} as never }),
    422,
  );
  x(
    await c.POST("/api/complete/{id}", {
      params: { path: { id: one.id } },
      body: { result: 1, worker: "ext-2", attempt: 1 },
    }),
    409,
    { bodyValid: true },
  );
  x(
    await c.POST("/api/complete/{id}", {
      params: { path: { id: one.id } },
      body: { result: { sent: true }, ...fence },
    }),
    200,
  );
  x(
    await c.POST("/api/complete/{id}", {
      params: { path: { id: MISSING } },
      body: { result: null, ...fence },
    }),
    404,
    { bodyValid: true },
  );

  const again = await c.POST("/api/process", { body: { types: ["email"] } });
  x(again, 200);
  const two = again.data!;
  const fence2 = { worker: two.locked_by!, attempt: two.attempts };
  x(
    await c.POST("/api/fail/{id}", { params: { path: { id: two.id } }, body: fence2 as never }),
    422,
  );
  x(
    await c.POST("/api/fail/{id}", {
      params: { path: { id: two.id } },
      body: { error: "smtp down", ...fence2 },
    }),
    200,
  );
  x(
    await c.POST("/api/fail/{id}", {
      params: { path: { id: two.id } },
      body: { error: { code: "E_LATE" }, permanent: true, ...fence2 },
    }),
    409,
    { bodyValid: true },
  );
  x(await c.POST("/api/process", { body: { types: ["report", "notification"] } }), 200);
  x(await c.POST("/api/process", { body: { types: ["report", "notification"] } }), 204);
  x(await c.POST("/api/process", { body: { types: ["fax"] } as never }), 422);

  // ---- schedules
  const sched = {
    name: "nightly-mail",
    cron: "0 2 * * *",
    timezone: "Europe/Berlin",
    type: "email" as const,
    payload: { to: "ops@example.com", subject: "Nightly", body: "A body" },
  };
  const named = { params: { path: { name: "nightly-mail" } } };
  x(await c.POST("/api/schedules", { body: sched }), 201);
  x(await c.POST("/api/schedules", { body: sched }), 409, { bodyValid: true });
  x(await c.POST("/api/schedules", { body: { ...sched, cron: "* * * * * *" } }), 422, {
    bodyValid: true,
  });
  x(await c.POST("/api/schedules", { body: { ...sched, priority: "3" } as never }), 422);
  x(await c.GET("/api/schedules", {}), 200);
  x(await c.GET("/api/schedules", { params: { query: { all: "1" } as never } }), 422);
  x(await c.GET("/api/schedules/{name}", named), 200);
  x(await c.HEAD("/api/schedules/{name}", named), 200);
  x(await c.GET("/api/schedules/{name}", { params: { path: { name: "missing" } } }), 404);
  x(await c.PATCH("/api/schedules/{name}", { ...named, body: { enabled: false } }), 200);
  x(await c.PATCH("/api/schedules/{name}", { ...named, body: { enabled: "no" } as never }), 422);
  x(
    await c.PATCH("/api/schedules/{name}", {
      params: { path: { name: "missing" } },
      body: { enabled: true },
    }),
    404,
  );
  x(await c.POST("/api/schedules/{name}/run", { ...named, body: {} }), 201);
  x(await c.POST("/api/schedules/{name}/run", { ...named, body: { now: 1 } as never }), 422);
  x(await c.POST("/api/schedules/{name}/run", { params: { path: { name: "missing" } } }), 404);
  x(await c.DELETE("/api/schedules/{name}", { ...named, body: { force: true } as never }), 422);
  x(await c.DELETE("/api/schedules/{name}", named), 200);
  x(await c.DELETE("/api/schedules/{name}", named), 404);

  // ---- alerts
  const rule = {
    name: "mail failing",
    kind: "failure_rate" as const,
    threshold: 10,
    window_minutes: 15,
  };
  const made = await c.POST("/api/alerts", { body: rule });
  x(made, 201);
  const alertId = { params: { path: { id: String((made.data as { id: number }).id) } } };
  x(await c.POST("/api/alerts", { body: rule }), 409, { bodyValid: true });
  x(await c.POST("/api/alerts", { body: { ...rule, window_minutes: null } }), 422, {
    bodyValid: true,
  });
  x(await c.POST("/api/alerts", { body: { ...rule, threshold: "10" } as never }), 422);
  x(await c.GET("/api/alerts", {}), 200);
  x(await c.HEAD("/api/alerts", {}), 200);
  x(await c.GET("/api/alerts", { params: { query: { all: "1" } as never } }), 422);
  x(await c.HEAD("/api/alerts", { params: { query: { all: "1" } as never } }), 422);
  x(await c.GET("/api/alerts/{id}", alertId), 200);
  x(await c.HEAD("/api/alerts/{id}", alertId), 200);
  x(await c.GET("/api/alerts/{id}", { params: { path: { id: "999" } } }), 404);
  x(await c.HEAD("/api/alerts/{id}", { params: { path: { id: "x" } } }), 404);
  x(await c.PATCH("/api/alerts/{id}", { ...alertId, body: { enabled: false } }), 200);
  x(await c.PATCH("/api/alerts/{id}", { ...alertId, body: { enabled: "no" } as never }), 422);
  x(
    await c.PATCH("/api/alerts/{id}", { params: { path: { id: "999" } }, body: { enabled: true } }),
    404,
  );
  x(await c.DELETE("/api/alerts/{id}", { ...alertId, body: { force: true } as never }), 422);
  x(await c.DELETE("/api/alerts/{id}", alertId), 200);
  x(await c.DELETE("/api/alerts/{id}", alertId), 404);

  // ---- queues
  x(await c.GET("/api/queues", {}), 200);
  x(await c.GET("/api/queues", { params: { query: { all: "1" } as never } }), 422);
  x(await c.GET("/api/queues/{name}", { params: { path: { name: "default" } } }), 200);
  x(await c.GET("/api/queues/{name}", { params: { path: { name: "nope" } } }), 404);
  x(
    await c.PATCH("/api/queues/{name}", {
      params: { path: { name: "default" } },
      body: { concurrency: 4 },
    }),
    200,
  );
  x(
    await c.PATCH("/api/queues/{name}", {
      params: { path: { name: "default" } },
      body: { paused: false, concurrency: null },
    }),
    200,
  );
  x(
    await c.PATCH("/api/queues/{name}", {
      params: { path: { name: "nope" } },
      body: { paused: true },
    }),
    404,
  );
  x(
    await c.PATCH("/api/queues/{name}", {
      params: { path: { name: "default" } },
      body: { concurrency: 0 },
    }),
    422,
  );
  x(
    await c.PATCH("/api/queues/{name}", {
      params: { path: { name: "default" } },
      body: { paused: "yes" } as never,
    }),
    422,
  );
  x(await c.HEAD("/api/queues", {}), 200);
  x(await c.HEAD("/api/queues", { params: { query: { all: "1" } as never } }), 422);
  x(await c.HEAD("/api/queues/{name}", { params: { path: { name: "default" } } }), 200);
  x(await c.HEAD("/api/queues/{name}", { params: { path: { name: "nope" } } }), 404);

  // ---- database health
  x(await c.GET("/api/health/db", {}), 200);
  x(await c.GET("/api/health/db", { params: { query: { sort: "total" } } }), 200);
  x(await c.GET("/api/health/db", { params: { query: { sort: "slowest" } as never } }), 422);
  x(await c.HEAD("/api/health/db", {}), 200);
  x(await c.HEAD("/api/health/db", { params: { query: { limit: "5" } as never } }), 422);

  // ---- stats and events
  x(await c.GET("/api/stats", {}), 200);
  x(await c.GET("/api/stats", { params: { query: { since: "1" } as never } }), 422);
  x(await c.GET("/api/stats/trend", { params: { query: { hours: 24, bucket: "hour" } } }), 200);
  x(await c.GET("/api/stats/trend", { params: { query: { hours: 48, bucket: "minute" } } }), 200);
  x(await c.GET("/api/stats/trend", { params: { query: { hours: 72, bucket: "minute" } } }), 422, {
    queryValid: true,
  });
  x(await c.GET("/api/stats/trend", { params: { query: { hours: 0 } } }), 422);
  const streams = [
    await c.GET("/api/events", { parseAs: "stream" }),
    await c.GET("/api/events", { params: { query: { lastEventId: "41" } }, parseAs: "stream" }),
    await c.GET("/api/events", {
      params: { header: { "Last-Event-ID": "41" } },
      parseAs: "stream",
    }),
  ];
  for (const stream of streams) {
    await stream.data?.cancel();
    x(stream, 200);
  }
  x(await c.GET("/api/events", { params: { query: { since: "41" } as never } }), 422);

  // ---- meta
  x(await c.GET("/api/openapi.json", {}), 200);
  x(await c.GET("/api/openapi.json", { params: { query: { v: "2" } as never } }), 422);
  x(await c.GET("/docs", { parseAs: "text" }), 200);
  x(await c.GET("/docs", { params: { query: { url: "x" } as never } }), 400);
  x(await c.GET("/healthz", {}), 200);
  x(await c.GET("/healthz", { params: { query: { full: "1" } as never } }), 400);
  x(await c.GET("/readyz", {}), 200);
  x(await c.GET("/readyz", { params: { query: { full: "1" } as never } }), 400);
  x(await c.GET("/metrics", { parseAs: "text" }), 200);
  x(await c.GET("/metrics", { params: { query: { name: "x" } as never } }), 400);

  // ---- HEAD: the GETs' headers
  x(await c.HEAD("/api/jobs", { params: { query: { status: ["pending"] } } }), 200);
  x(await c.HEAD("/api/jobs", { params: { query: { limit: 1000 } } }), 422);
  x(await c.HEAD("/api/jobs/{id}", { params: { path: { id: job.id } } }), 200);
  x(await c.HEAD("/api/jobs/{id}", { params: { path: { id: MISSING } } }), 404);
  x(
    await c.HEAD("/api/jobs/{id}/artifact", { params: { path: { id: f.reportWithFile } } }),
    200,
  );
  x(await c.HEAD("/api/jobs/{id}/artifact", { params: { path: { id: MISSING } } }), 404);
  x(await c.HEAD("/api/schedules", {}), 200);
  x(await c.HEAD("/api/schedules", { params: { query: { all: "1" } as never } }), 422);
  x(await c.HEAD("/api/schedules/{name}", { params: { path: { name: "missing" } } }), 404);
  x(await c.HEAD("/api/schedules/{name}", { params: { path: { name: "Bad Name" } } }), 404);
  x(await c.HEAD("/api/stats", {}), 200);
  x(await c.HEAD("/api/stats", { params: { query: { since: "1" } as never } }), 422);
  x(await c.HEAD("/api/stats/trend", { params: { query: { bucket: "minute" } } }), 200);
  x(await c.HEAD("/api/stats/trend", { params: { query: { hours: 721 } } }), 422);
  x(await c.HEAD("/api/events", { params: { header: { "Last-Event-ID": "1" } } }), 200);
  x(await c.HEAD("/api/events", { params: { query: { since: "1" } as never } }), 422);
  x(await c.HEAD("/api/openapi.json", {}), 200);
  x(await c.HEAD("/api/openapi.json", { params: { query: { v: "2" } as never } }), 422);
  x(await c.HEAD("/docs", {}), 200);
  x(await c.HEAD("/docs", { params: { query: { url: "x" } as never } }), 400);
  x(await c.HEAD("/healthz", {}), 200);
  x(await c.HEAD("/healthz", { params: { query: { full: "1" } as never } }), 400);
  x(await c.HEAD("/readyz", {}), 200);
  x(await c.HEAD("/readyz", { params: { query: { full: "1" } as never } }), 400);
  x(await c.HEAD("/metrics", {}), 200);
  x(await c.HEAD("/metrics", { params: { query: { name: "x" } as never } }), 400);

  // ---- the audit log
  x(
    await c.GET("/api/audit", {
      params: {
        query: {
          action: ["job.cancel", "queue.pause"],
          actor: "ci",
          job: job.id,
          since: "2026-01-01T00:00:00Z",
          until: "2999-01-01T00:00:00+01:00",
          limit: 10,
          offset: 0,
        },
      },
    }),
    200,
  );
  x(await c.GET("/api/audit", {}), 200);
  x(await c.GET("/api/audit", { params: { query: { action: ["job.explode" as never] } } }), 422);
  x(await c.GET("/api/audit", { params: { query: { limit: 101 } } }), 422);
  x(await c.HEAD("/api/audit", { params: { query: { job: job.id } } }), 200);
  x(await c.HEAD("/api/audit", { params: { query: { job: "nope" } } }), 422);

  // ---- export
  const exported = (format: "csv" | "ndjson") =>
    c.GET("/api/jobs/export", {
      params: { query: { format, status: ["pending", "completed"], sort: "priority" } },
      parseAs: "text",
    });
  x(await exported("csv"), 200);
  x(await exported("ndjson"), 200);
  x(await c.GET("/api/jobs/export", { params: { query: { format: "xml" as never } } }), 422);
  x(
    await c.GET("/api/jobs/export", { params: { query: { format: "csv", limit: 10 } as never } }),
    422,
  );
  x(await c.HEAD("/api/jobs/export", { params: { query: { format: "ndjson" } } }), 200);
  x(await c.HEAD("/api/jobs/export", { params: { query: {} as never } }), 422);
}
