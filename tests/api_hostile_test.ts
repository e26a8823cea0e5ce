/**
 * Hostile input, table-driven: each request is answered with the right status
 * (the error envelope for every refusal; SQL and LIKE wildcards in `q` are
 * just text), never a 500, and the database is unchanged after it.
 */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { bodyJson, snapshot } from "./_helpers/api_server.ts";
import { openApp } from "./_helpers/app.ts";
import { insertJob } from "./_helpers/factory.ts";
import { API_ROUTES } from "../lib/openapi.ts";
import { HTTP_METHOD_LABELS } from "../lib/metrics.ts";

const EMAIL = { to: "ada@example.com", subject: "Hello", body: "Hi" };
const JSON_CT = { "content-type": "application/json" };

interface Case {
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  status: number;
  code?: string;
  /** An issue path the 422 must name. */
  issue?: string;
}

/** ISO 8601 date-times PostgreSQL rejects: year 0 (it has none), UTC offsets beyond ±15:59. */
export const UNSTORABLE_DATES = [
  "0000-01-01T00:00:00Z",
  "0000-02-29T12:00:00+01:00",
  "0000-12-31T23:59:59.999-15:59",
  "2026-01-01T00:00:00+23:59",
  "2026-01-01T00:00:00-23:59",
  "2026-06-01T12:00:00+16:00",
  "2026-06-01T12:00:00-16:00",
  "9999-12-31T23:59:59+20:00",
];

/** The schedule the table arranges (its name is taken; its changes must be refused). */
const SCHEDULE = {
  name: "nightly",
  cron: "0 2 * * *",
  timezone: "Europe/Berlin",
  type: "email",
  payload: EMAIL,
};

const ALERT = {
  name: "mail failing",
  kind: "failure_rate",
  queue: "mail",
  threshold: 10,
  window_minutes: 15,
};

const job = (extra: Record<string, unknown>, payload: Record<string, unknown> = EMAIL) =>
  JSON.stringify({ type: "email", payload, ...extra });

function cases(ids: { pending: string; completed: string; processing: string }): Case[] {
  const P = "/api/jobs";
  return [
    { name: "malformed JSON", path: P, body: "{", status: 400, code: "malformed_json" },
    { name: "trailing garbage", path: P, body: job({}) + "x", status: 400, code: "malformed_json" },
    { name: "empty body", path: P, body: "", status: 400, code: "malformed_json" },
    { name: "single-quoted JSON", path: P, body: "{'type':'email'}", status: 400 },
    {
      name: "invalid UTF-8 bytes",
      path: P,
      body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
      status: 400,
    },
    {
      name: "text/plain body",
      path: P,
      headers: { "content-type": "text/plain" },
      body: job({}),
      status: 415,
    },
    {
      name: "form-encoded body",
      path: P,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "type=email",
      status: 415,
    },
    {
      name: "no content type",
      path: P,
      headers: { "content-type": "" },
      body: job({}),
      status: 415,
    },
    {
      name: "JSON with a latin1 charset",
      path: P,
      headers: { "content-type": "application/json; charset=latin1" },
      body: job({}),
      status: 415,
    },
    {
      name: "body over 1 MiB",
      path: P,
      body: job({}, { ...EMAIL, body: "x".repeat(1_100_000) }),
      status: 413,
    },
    {
      name: "batch over 8 MiB",
      path: "/api/jobs/batch",
      body: JSON.stringify({ jobs: [], pad: "x".repeat(8_500_000) }),
      status: 413,
    },
    {
      name: "deeply nested arrays",
      path: P,
      body: "[".repeat(5000) + "]".repeat(5000),
      status: 400,
      code: "too_deeply_nested",
    },
    {
      name: "deeply nested result",
      path: `/api/complete/${ids.processing}`,
      body: JSON.stringify({ result: JSON.parse("[".repeat(40) + "]".repeat(40)) }),
      status: 400,
    },
    { name: "array instead of object", path: P, body: "[]", status: 422 },
    { name: "a bare string", path: P, body: '"email"', status: 422 },
    { name: "null body", path: P, body: "null", status: 422 },
    {
      name: "priority as a string",
      path: P,
      body: job({ priority: "3" }),
      status: 422,
      issue: "priority",
    },
    { name: "priority 3.5", path: P, body: job({ priority: 3.5 }), status: 422, issue: "priority" },
    { name: "priority 0", path: P, body: job({ priority: 0 }), status: 422, issue: "priority" },
    {
      name: "priority 1e400 (Infinity)",
      path: P,
      body: '{"type":"email","payload":{"to":"a@b.co","subject":"s","body":"b"},"priority":1e400}',
      status: 422,
    },
    {
      name: "max_attempts 1000",
      path: P,
      body: job({ max_attempts: 1000 }),
      status: 422,
      issue: "max_attempts",
    },
    { name: "unknown top-level field", path: P, body: job({ extra: 1 }), status: 422 },
    {
      name: "unknown payload field",
      path: P,
      body: job({}, { ...EMAIL, cc: "x@y.z" }),
      status: 422,
    },
    {
      name: "unknown type",
      path: P,
      body: JSON.stringify({ type: "fax", payload: {} }),
      status: 422,
    },
    { name: "missing payload", path: P, body: JSON.stringify({ type: "email" }), status: 422 },
    {
      name: "bad email address",
      path: P,
      body: job({}, { ...EMAIL, to: "not-an-email" }),
      status: 422,
      issue: "payload.to",
    },
    {
      name: "header injection in subject",
      path: P,
      body: job({}, { ...EMAIL, subject: "a\r\nBcc: x@y.z" }),
      status: 422,
      issue: "payload.subject",
    },
    {
      name: "NUL byte in a string",
      path: P,
      body: job({}, { ...EMAIL, body: "a\u0000b" }),
      status: 422,
      issue: "payload.body",
    },
    {
      name: "NUL byte in a key",
      path: P,
      body: '{"type":"email","payload":{"to":"a@b.co","subject":"s","body":"b","x\\u0000":1}}',
      status: 422,
    },
    {
      name: "lone high surrogate",
      path: P,
      body: '{"type":"email","payload":{"to":"a@b.co","subject":"\\ud800","body":"b"}}',
      status: 422,
      issue: "payload.subject",
    },
    {
      name: "lone low surrogate in a result",
      path: `/api/complete/${ids.processing}`,
      body: '{"result":{"t":"\\udc00"}}',
      status: 422,
      issue: "result.t",
    },
    {
      name: "impossible calendar date",
      path: P,
      body: job({ scheduled_for: "2026-02-30T00:00:00Z" }),
      status: 422,
      issue: "scheduled_for",
    },
    {
      name: "unique_key of 256 characters",
      path: P,
      body: job({ unique_key: "k".repeat(256) }),
      status: 422,
      issue: "unique_key",
    },
    {
      name: "timeout_seconds as text",
      path: P,
      body: job({ timeout_seconds: "30" }),
      status: 422,
      issue: "timeout_seconds",
    },
    {
      name: "timeout_seconds past a day",
      path: P,
      body: job({ timeout_seconds: 86_401 }),
      status: 422,
      issue: "timeout_seconds",
    },
    // Valid ISO 8601 that PostgreSQL's timestamptz refuses: once 500s, now 422s.
    ...UNSTORABLE_DATES.flatMap((at): Case[] => [
      {
        name: `expires_at ${at}`,
        path: P,
        body: job({ expires_at: at }),
        status: 422,
        issue: "expires_at",
      },
      {
        name: `scheduled_for ${at}`,
        path: P,
        body: job({ scheduled_for: at }),
        status: 422,
        issue: "scheduled_for",
      },
      {
        name: `batch scheduled_for ${at}`,
        path: `${P}/batch`,
        body: JSON.stringify({
          jobs: [JSON.parse(job({})), JSON.parse(job({ scheduled_for: at }))],
        }),
        status: 422,
        issue: "jobs.1.scheduled_for",
      },
    ]),
    {
      name: "report range backwards",
      path: P,
      body: JSON.stringify({
        type: "report",
        payload: {
          report_type: "failures",
          format: "csv",
          date_range: { from: "2026-02-01", to: "2026-01-01" },
        },
      }),
      status: 422,
    },
    {
      name: "__proto__ key",
      path: P,
      body:
        '{"type":"email","payload":{"to":"a@b.co","subject":"s","body":"b"},"__proto__":{"admin":true}}',
      status: 422,
    },
    {
      name: "batch of 1001 jobs",
      path: "/api/jobs/batch",
      body: JSON.stringify({
        jobs: Array.from({ length: 1001 }, () => ({ type: "email", payload: EMAIL })),
      }),
      status: 422,
    },
    {
      name: "batch as a bare array",
      path: "/api/jobs/batch",
      body: JSON.stringify([{ type: "email", payload: EMAIL }]),
      status: 422,
    },
    {
      name: "bulk with a bad uuid",
      path: "/api/jobs/bulk",
      body: JSON.stringify({ action: "delete", ids: [ids.pending, "1 OR 1=1"] }),
      status: 422,
      issue: "ids.1",
    },
    {
      name: "bulk with 1001 ids",
      path: "/api/jobs/bulk",
      body: JSON.stringify({ action: "delete", ids: Array(1001).fill(ids.pending) }),
      status: 422,
    },
    {
      name: "bulk ids as a string",
      path: "/api/jobs/bulk",
      body: JSON.stringify({ action: "cancel", ids: ids.pending }),
      status: 422,
    },
    {
      name: "bulk by ids and filter at once",
      path: "/api/jobs/bulk",
      body: JSON.stringify({
        action: "delete",
        ids: [ids.pending],
        filter: { status: ["failed"] },
      }),
      status: 422,
      issue: "filter",
    },
    {
      name: "bulk delete by an empty filter without all",
      path: "/api/jobs/bulk",
      body: JSON.stringify({ action: "delete", filter: {} }),
      status: 422,
      issue: "filter",
    },
    {
      name: "bulk filter with SQL as a status",
      path: "/api/jobs/bulk",
      body: JSON.stringify({ action: "delete", filter: { status: ["pending' OR 1=1--"] } }),
      status: 422,
      issue: "filter.status.0",
    },
    {
      name: "bulk filter q with a NUL byte",
      path: "/api/jobs/bulk",
      body: JSON.stringify({ action: "cancel", filter: { q: "a\u0000" } }),
      status: 422,
      issue: "filter.q",
    },
    {
      name: "bulk filter as a string",
      path: "/api/jobs/bulk",
      body: JSON.stringify({ action: "cancel", filter: "status=pending" }),
      status: 422,
      issue: "filter",
    },
    {
      name: "bulk filter with a sort (not a filter)",
      path: "/api/jobs/bulk",
      body: JSON.stringify({ action: "cancel", filter: { sort: "id" } }),
      status: 422,
      issue: "filter",
    },
    {
      name: "bulk dry_run as a string",
      path: "/api/jobs/bulk",
      body: JSON.stringify({ action: "cancel", filter: {}, dry_run: "false" }),
      status: 422,
      issue: "dry_run",
    },
    {
      name: "undo with SQL as the id",
      path: "/api/jobs/bulk/undo",
      body: JSON.stringify({ undo_id: "1 OR 1=1" }),
      status: 422,
      issue: "undo_id",
    },
    {
      name: "undo with an id nobody offered",
      path: "/api/jobs/bulk/undo",
      body: JSON.stringify({ undo_id: ids.pending }),
      status: 410,
      code: "undo_expired",
    },
    {
      name: "undo with the id in an array",
      path: "/api/jobs/bulk/undo",
      body: JSON.stringify({ undo_id: [ids.pending] }),
      status: 422,
      issue: "undo_id",
    },
    {
      name: "process with an unknown type",
      path: "/api/process",
      body: JSON.stringify({ types: ["fax"] }),
      status: 422,
    },
    {
      name: "process worker as a number",
      path: "/api/process",
      body: JSON.stringify({ worker: 7 }),
      status: 422,
      issue: "worker",
    },
    {
      name: "complete a job that is not processing",
      path: `/api/complete/${ids.completed}`,
      body: JSON.stringify({ worker: "test-worker", attempt: 1 }),
      status: 409,
    },
    {
      name: "complete with an attempt as a string",
      path: `/api/complete/${ids.processing}`,
      body: JSON.stringify({ attempt: "1" }),
      status: 422,
    },
    { name: "fail without an error", path: `/api/fail/${ids.processing}`, body: "{}", status: 422 },
    {
      name: "cancel a completed job",
      method: "DELETE",
      path: `/api/jobs/${ids.completed}`,
      status: 409,
    },
    {
      name: "retry with a body field",
      path: `/api/jobs/${ids.completed}/retry`,
      body: '{"force":true}',
      status: 422,
    },
    {
      name: "retry with a priority as a string",
      path: `/api/jobs/${ids.completed}/retry`,
      body: { priority: "3" },
      status: 422,
      issue: "priority",
    },
    {
      name: "retry with a bad queue name",
      path: `/api/jobs/${ids.completed}/retry`,
      body: { queue: "'; DROP TABLE job;--" },
      status: 422,
      issue: "queue",
    },
    {
      name: "retry with a payload that is not an object",
      path: `/api/jobs/${ids.completed}/retry`,
      body: { payload: ["to", "ada@example.com"] },
      status: 422,
      issue: "payload",
    },
    {
      name: "edit and retry a completed job",
      path: `/api/jobs/${ids.completed}/retry`,
      body: { payload: EMAIL, priority: 5 },
      status: 409,
      code: "job_not_retryable",
    },
    {
      name: "edit and retry a pending job with a bad payload",
      path: `/api/jobs/${ids.pending}/retry`,
      body: { payload: { to: "x" } },
      status: 409,
      code: "job_not_retryable",
    },
    { name: "bad uuid in the path", method: "GET", path: "/api/jobs/123", status: 404 },
    {
      name: "SQL in a path id",
      method: "DELETE",
      path: "/api/jobs/'%3B%20DROP%20TABLE%20job%3B--",
      status: 404,
    },
    { name: "uuid with a suffix", method: "GET", path: `/api/jobs/${ids.pending}x`, status: 404 },
    {
      name: "unknown sort field",
      method: "GET",
      path: "/api/jobs?sort=id;DROP TABLE job",
      status: 422,
    },
    { name: "NUL in q", method: "GET", path: "/api/jobs?q=a%00b", status: 422 },
    {
      name: "q longer than 200",
      method: "GET",
      path: `/api/jobs?q=${"a".repeat(201)}`,
      status: 422,
    },
    { name: "limit 1e3", method: "GET", path: "/api/jobs?limit=1e3", status: 422 },
    { name: "negative offset", method: "GET", path: "/api/jobs?offset=-5", status: 422 },
    {
      name: "SQL text in q",
      method: "GET",
      path: `/api/jobs?q=${encodeURIComponent("'; DROP TABLE job; --")}`,
      status: 200,
    },
    { name: "LIKE wildcard % in q", method: "GET", path: "/api/jobs?q=%25", status: 200 },
    { name: "LIKE wildcard _ in q", method: "GET", path: "/api/jobs?q=_", status: 200 },
    { name: "backslash in q", method: "GET", path: "/api/jobs?q=%5C", status: 200 },
    {
      name: "queue name with a space",
      path: P,
      body: job({ queue: "Bad Queue" }),
      status: 422,
      issue: "queue",
    },
    {
      name: "batch queue name of 64 characters",
      path: `${P}/batch`,
      body: JSON.stringify({ jobs: [JSON.parse(job({ queue: "q".repeat(64) }))] }),
      status: 422,
      issue: "jobs.0.queue",
    },
    ...([
      ["concurrency as text", { concurrency: "2" }, "concurrency"],
      ["concurrency 0", { concurrency: 0 }, "concurrency"],
      ["paused as text", { paused: "yes" }, "paused"],
      ["an unknown field", { colour: "red" }, undefined],
    ] as const).map(([what, body, issue]): Case => ({
      name: `PATCH a queue: ${what}`,
      method: "PATCH",
      path: "/api/queues/default",
      body: JSON.stringify(body),
      status: 422,
      issue,
    })),
    {
      name: "PATCH an unknown queue",
      method: "PATCH",
      path: "/api/queues/nope",
      body: '{"paused":true}',
      status: 404,
      code: "queue_not_found",
    },
    {
      name: "PATCH a queue named by a path trick",
      method: "PATCH",
      path: "/api/queues/..%2F..%2Fetc",
      body: '{"paused":true}',
      status: 404,
    },
    ...([
      ["a six-field cron", { cron: "* * * * * *" }, "cron"],
      ["a cron that never fires", { cron: "0 0 31 2 *" }, "cron"],
      ["an unknown time zone", { timezone: "Mars/Olympus" }, "timezone"],
      ["a name with a space", { name: "Bad Name" }, "name"],
      ["a payload the type refuses", { payload: { to: "nobody" } }, "payload.to"],
      ["priority as text", { priority: "3" }, "priority"],
    ] as const).map(([what, extra, issue]): Case => ({
      name: `create a schedule: ${what}`,
      path: "/api/schedules",
      body: JSON.stringify({ ...SCHEDULE, name: "fresh", ...extra }),
      status: 422,
      issue,
    })),
    {
      name: "create a schedule whose name is taken",
      path: "/api/schedules",
      body: JSON.stringify(SCHEDULE),
      status: 409,
    },
    {
      name: "PATCH a schedule with a bad cron",
      method: "PATCH",
      path: `/api/schedules/${SCHEDULE.name}`,
      body: '{"cron":"every day"}',
      status: 422,
      issue: "cron",
    },
    {
      name: "PATCH an unknown schedule",
      method: "PATCH",
      path: "/api/schedules/missing",
      body: '{"enabled":true}',
      status: 404,
    },
    {
      name: "DELETE an unknown schedule",
      method: "DELETE",
      path: "/api/schedules/missing",
      status: 404,
    },
    { name: "run an unknown schedule", path: "/api/schedules/missing/run", status: 404 },
    ...([
      ["threshold as text", { threshold: "10" }, "threshold"],
      ["a failure rate without a window", { window_minutes: undefined }, "window_minutes"],
      ["a failure rate of 100 %", { threshold: 100 }, "threshold"],
      [
        "a no_worker rule with a threshold",
        { kind: "no_worker", window_minutes: undefined },
        "threshold",
      ],
      ["an unknown kind", { kind: "panic" }, "kind"],
      ["a name of 101 characters", { name: "n".repeat(101) }, "name"],
      ["an unknown field", { colour: "red" }, undefined],
    ] as const).map(([what, extra, issue]): Case => ({
      name: `create an alert: ${what}`,
      path: "/api/alerts",
      body: JSON.stringify({ ...ALERT, name: "fresh", ...extra }),
      status: 422,
      issue,
    })),
    {
      name: "create an alert whose name is taken",
      path: "/api/alerts",
      body: JSON.stringify(ALERT),
      status: 409,
      code: "alert_exists",
    },
    {
      name: "PATCH an alert into a kind its fields do not fit",
      method: "PATCH",
      path: "/api/alerts/1",
      body: '{"kind":"backlog"}',
      status: 422,
      issue: "window_minutes",
    },
    {
      name: "PATCH an unknown alert",
      method: "PATCH",
      path: "/api/alerts/999",
      body: '{"enabled":false}',
      status: 404,
      code: "alert_not_found",
    },
    {
      name: "DELETE an alert by a malformed id",
      method: "DELETE",
      path: "/api/alerts/1%20OR%201=1",
      status: 404,
    },
    { name: "GET an alert with a query", method: "GET", path: "/api/alerts/1?x=1", status: 422 },
    { name: "explain a malformed id", method: "GET", path: "/api/jobs/123/explain", status: 404 },
    {
      name: "PATCH a job",
      method: "PATCH",
      path: `/api/jobs/${ids.pending}`,
      body: "{}",
      status: 405,
    },
    ...([
      ["an unknown action", "action=job.explode", "action.0"],
      ["a job that is not a uuid", "job=123", "job"],
      ["a date without a time", "since=2026-01-01", "since"],
      ["year 0000", "until=0000-01-01T00:00:00Z", "until"],
      ["limit 0", "limit=0", "limit"],
      ["offset as text", "offset=ten", "offset"],
      ["actor twice", "actor=a&actor=b", "actor"],
      ["NUL in actor", "actor=a%00b", "actor"],
      ["an unknown parameter", "colour=red", undefined],
    ] as const).map(([what, q, issue]): Case => ({
      name: `audit log: ${what}`,
      method: "GET",
      path: `/api/audit?${q}`,
      status: 422,
      issue,
    })),
    { name: "POST to the audit log", path: "/api/audit", body: "{}", status: 405 },
    {
      name: "database health sorted by nonsense",
      method: "GET",
      path: "/api/health/db?sort=slowest",
      status: 422,
      issue: "sort",
    },
    {
      name: "database health with an unknown parameter",
      method: "GET",
      path: "/api/health/db?limit=5",
      status: 422,
    },
    { name: "POST to database health", path: "/api/health/db", body: "{}", status: 405 },
    ...([
      ["no format", "", "format"],
      ["format as SQL", "format=csv;DROP TABLE job", "format"],
      ["NUL in q", "format=csv&q=a%00b", "q"],
      ["SQL in sort", "format=ndjson&sort=id;DROP TABLE job", "sort"],
      ["a page asked for", "format=csv&limit=1e3", undefined],
    ] as const).map(([what, query, issue]): Case => ({
      name: `export: ${what}`,
      method: "GET",
      path: `/api/jobs/export?${query}`,
      status: 422,
      issue,
    })),
    { name: "export by POST", path: "/api/jobs/export?format=csv", body: "{}", status: 405 },
  ];
}

Deno.test({
  name: "api: hostile input gets the right status, the envelope, and changes nothing",
}, async (t) => {
  const s = await openApp();
  try {
    const pending = await insertJob(s.db.sql, { status: "pending" });
    const completed = await insertJob(s.db.sql, { status: "completed" });
    const processing = await insertJob(s.db.sql, { status: "processing", locked_by: "w1" });
    const arranged = await s.post("/api/schedules", SCHEDULE);
    assertEquals(arranged.status, 201, await arranged.text());
    const alert = await s.post("/api/alerts", ALERT);
    assertEquals([alert.status, (await alert.json()).id], [201, 1]);
    const table = cases({
      pending: pending.id,
      completed: completed.id,
      processing: processing.id,
    });
    assert(table.length >= 30, `${table.length} cases`);
    const before = await snapshot(s.db);

    // The steps share three read-only jobs (a database each would cost ~70 clones); none depends
    // on another's order, as each checks that the database is still exactly `before`.
    for (const c of table) {
      await t.step(`${c.name} → ${c.status}`, async () => {
        const headers = new Headers(c.body === undefined ? {} : JSON_CT);
        for (const [k, v] of Object.entries(c.headers ?? {})) {
          if (v === "") headers.delete(k);
          else headers.set(k, v);
        }
        const res = await s.call(c.path, {
          method: c.method ?? "POST",
          headers,
          body: c.body === undefined
            ? undefined
            : c.body instanceof Uint8Array
            ? c.body as Uint8Array<ArrayBuffer>
            : typeof c.body === "string"
            ? c.body
            : JSON.stringify(c.body),
        });
        if (c.status === 200) {
          // Valid but hostile: treated as plain text, matching nothing here.
          const page = await bodyJson<{ items: unknown[]; total: number }>(res);
          assertEquals([res.status, page.total, page.items.length], [200, 0, 0]);
          assertEquals(await snapshot(s.db), before, "the database is unchanged");
          return;
        }
        const body = await bodyJson<{ error: Record<string, unknown> }>(res);
        assertEquals(res.status, c.status, JSON.stringify(body));
        assertEquals(Object.keys(body), ["error"]);
        assert(typeof body.error.code === "string" && body.error.code.length > 0);
        assert(typeof body.error.message === "string" && body.error.message.length > 0);
        assert(!JSON.stringify(body).includes("    at "), "no stack trace");
        if (c.code) assertEquals(body.error.code, c.code);
        if (c.status === 422) {
          const issues = body.error.issues as { path: string; message: string }[];
          assert(Array.isArray(issues) && issues.length > 0, "422 lists its issues");
          for (const i of issues) {
            assert(typeof i.path === "string" && typeof i.message === "string");
          }
          if (c.issue) {
            assert(
              issues.some((i) => i.path === c.issue),
              `expected an issue at ${c.issue}, got ${JSON.stringify(issues)}`,
            );
          }
        }
        assertEquals(await snapshot(s.db), before, "the database is unchanged");
      });
    }
  } finally {
    await s.close();
  }
});

/** The series of a Prometheus text: `name{labels}` of every sample line, sorted. */
function seriesOf(text: string): string[] {
  return text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) =>
    l.slice(0, l.lastIndexOf(" "))
  ).sort();
}

const randomWord = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => String.fromCharCode(65 + b % 26))
    .join("");

Deno.test({
  name:
    "api: requests without credentials create no metrics series; method and route labels come from fixed sets",
}, async () => {
  const TOKEN = "metrics-token-0123456789";
  const s = await openApp({ API_TOKEN: TOKEN });
  const scrape = async () => {
    const text = await (await s.call("/metrics")).text();
    const refused = Number(/^jobq_http_unauthenticated_requests_total (\d+)$/m.exec(text)?.[1]);
    return { bytes: text.length, series: seriesOf(text), refused };
  };
  const flood = async (n: number, token?: string) => {
    const statuses = new Set<number>();
    for (let i = 0; i < n; i += 25) {
      await Promise.all(Array.from({ length: 25 }, async (_, j) => {
        const k = i + j;
        const method = k % 100 === 0 ? randomWord(8_000) : randomWord(6 + k % 10);
        const path = [
          `/api/${randomWord(12)}`,
          `/api/jobs/${crypto.randomUUID()}/${randomWord(5)}`,
          `/api/jobs/${randomWord(40)}`,
          "/api/openapi.json",
          "/api/stats",
        ][k % 5];
        const res = await s.call(path, { method, token });
        await res.body?.cancel();
        statuses.add(res.status);
      }));
    }
    return statuses;
  };
  try {
    const before = await scrape();
    const statuses = await flood(1000);
    const after = await scrape();
    console.log(
      `unauthenticated flood of 1000 random methods/paths: /metrics ${before.series.length} series ` +
        `${before.bytes} B → ${after.series.length} series ${after.bytes} B (answers ${[
          ...statuses,
        ]})`,
    );
    assertEquals(after.series, before.series, "no new series from unauthenticated requests");
    assert(
      after.bytes < before.bytes + 100,
      `/metrics grew from ${before.bytes} to ${after.bytes}`,
    );
    assertEquals(after.refused - before.refused, 1000, "they are counted, without labels");

    await flood(500, TOKEN);
    const authed = await scrape();
    const routes = new Set(["unmatched", "/api/openapi.json"]);
    for (const r of API_ROUTES) routes.add(r.split(" ")[1].replace(/\{([a-z]+)\}/g, ":$1"));
    const known = new Set(before.series);
    const labels = new Set<string>();
    for (const line of authed.series.filter((l) => !known.has(l))) {
      if (!line.startsWith("jobq_http_request_duration_seconds")) continue;
      const method = /method="([^"]*)"/.exec(line)?.[1] ?? "";
      const route = /route="([^"]*)"/.exec(line)?.[1] ?? "";
      assert(
        [...HTTP_METHOD_LABELS, "other"].includes(method),
        `method label ${method.slice(0, 40)}`,
      );
      assert(routes.has(route), `route label ${route.slice(0, 60)}`);
      labels.add(`${method} ${route}`);
    }
    console.log(
      `authenticated flood of 500 random methods/paths: ${authed.series.length} series, ` +
        `${authed.bytes} B, new method×route pairs ${labels.size}`,
    );
    assert(labels.size <= 4, `random methods collapse into "other": ${[...labels]}`);
  } finally {
    await s.close();
  }
});
