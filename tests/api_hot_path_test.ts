/**
 * The shortcuts of the `POST /api/jobs` hot path answer what the general code
 * did: the path read without parsing the URL, the JSON response's headers
 * built as one record, the wildcard-path check skipped for URLs without `*`,
 * the request-id header set on the route's own answer, and forms guarded on
 * pages only.
 */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { bodyJson, startApiServer } from "./_helpers/api_server.ts";
import { openApp } from "./_helpers/app.ts";
import { pathOf } from "../lib/http/errors.ts";
import { json, withIsoDates } from "../lib/http/json.ts";
import { guardFormData, refuseWildcardPath } from "../lib/http/guards.ts";
import { Hono } from "hono";

Deno.test("pathOf is the URL parser's pathname", () => {
  const urls = [
    "http://127.0.0.1:8000/api/jobs",
    "http://127.0.0.1:8000/api/jobs?x=1&y=/z",
    "http://127.0.0.1:8000/api/jobs#frag?x",
    "http://127.0.0.1:8000/api/jobs?q=a#b",
    "http://localhost/",
    "http://localhost",
    "https://example.com:8443/a/b/../c/%2A?x=*",
    "http://[::1]:8000/api/./jobs/",
    "http://host/%61pi/jobs",
    "http://user:pw@host/api",
  ];
  for (const u of urls) {
    const serialised = new Request(u).url;
    assertEquals(pathOf(serialised), new URL(serialised).pathname, serialised);
  }
});

function headerList(res: Response): [string, string][] {
  return [...res.headers].sort(([a], [b]) => a.localeCompare(b));
}

Deno.test("json() answers the same headers whatever form its headers take", async () => {
  const cases: { headers?: HeadersInit; want: Record<string, string> }[] = [
    {
      headers: undefined,
      want: { "cache-control": "no-store", "content-type": "application/json; charset=utf-8" },
    },
    {
      headers: { location: "/api/jobs/1" },
      want: {
        "cache-control": "no-store",
        "content-type": "application/json; charset=utf-8",
        location: "/api/jobs/1",
      },
    },
    {
      // A caller's cache-control stays; its content type does not.
      headers: { "cache-control": "max-age=5", "content-type": "text/plain" },
      want: { "cache-control": "max-age=5", "content-type": "application/json; charset=utf-8" },
    },
  ];
  for (const { headers, want } of cases) {
    const res = json({ a: 1 }, { status: 201, headers });
    assertEquals(res.status, 201);
    assertEquals(Object.fromEntries(headerList(res)), want);
    assertEquals(await res.json(), { a: 1 });
    // The general path (a Headers object, an array, mixed-case names) answers the same.
    const forms: HeadersInit[] = [
      new Headers(headers),
      [...new Headers(headers)],
      Object.fromEntries([...new Headers(headers)].map(([k, v]) => [k.toUpperCase(), v])),
    ];
    for (const h of forms) {
      assertEquals(headerList(json({ a: 1 }, { status: 201, headers: h })), headerList(res));
    }
  }
  assertEquals(json(null).status, 200);
});

Deno.test("refuseWildcardPath: a * segment is refused, a * elsewhere is not", async () => {
  const refused = [
    "http://127.0.0.1:8000/*",
    "http://127.0.0.1:8000/api/*",
    "http://127.0.0.1:8000/api/%2A/x",
    "http://127.0.0.1:8000/api/jobs/%2a",
  ];
  for (const u of refused) {
    const res = refuseWildcardPath(new Request(u));
    assert(res, u);
    assertEquals(res.status, 400);
    if (u.includes("/api/")) assertEquals((await res.json()).error.code, "bad_request_target");
    else await res.body?.cancel();
  }
  const passed = [
    "http://127.0.0.1:8000/api/jobs",
    "http://127.0.0.1:8000/api/jobs?q=*",
    "http://127.0.0.1:8000/api/jobs?q=%2A",
    "http://127.0.0.1:8000/jobs/a*b",
    "http://127.0.0.1:8000/jobs/x%2Ay",
  ];
  for (const u of passed) assertEquals(refuseWildcardPath(new Request(u)), null, u);
});

Deno.test("guardFormData guards the pages' forms and leaves /api requests alone", async () => {
  const app = new Hono();
  app.use("*", guardFormData);
  app.post("*", async (c) => {
    try {
      await c.req.raw.formData();
      return c.text("form");
    } catch (err) {
      return c.text(`${(err as Error).constructor.name} ${(err as { status?: number }).status}`);
    }
  });
  const post = (path: string) =>
    app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
  assertEquals(await (await post("/jobs/new")).text(), "HttpError 400");
  assertEquals(await (await post("/api/jobs")).text(), "TypeError undefined");
});

Deno.test("POST /api/jobs: request id, security and JSON headers on the 201", async () => {
  const s = await openApp();
  try {
    const id = "hot-path-request-1";
    const res = await s.post("/api/jobs", {
      type: "notification",
      payload: { user_id: "u", channel: "push", message: "m" },
    }, { headers: { "x-request-id": id } });
    const job = await bodyJson(res);
    assertEquals(res.status, 201);
    assertEquals(res.headers.get("x-request-id"), id);
    assertEquals(res.headers.get("location"), `/api/jobs/${job.id}`);
    assertEquals(res.headers.get("content-type"), "application/json; charset=utf-8");
    assertEquals(res.headers.get("cache-control"), "no-store");
    assertEquals(res.headers.get("x-content-type-options"), "nosniff");
    assertEquals(res.headers.get("x-frame-options"), "DENY");
    assertEquals(res.headers.get("referrer-policy"), "no-referrer");
    assertEquals(
      res.headers.get("content-security-policy"),
      "default-src 'none'; frame-ancestors 'none'",
    );
    // A generated id when the client sent none (or a malformed one).
    const other = await s.post("/api/jobs", {
      type: "notification",
      payload: { user_id: "u", channel: "push", message: "n" },
    }, { headers: { "x-request-id": "bad id!" } });
    await other.body?.cancel();
    assertEquals(other.status, 201);
    assert(/^[0-9a-f-]{36}$/.test(other.headers.get("x-request-id") ?? ""));
    // Errors carry it too.
    const bad = await s.post("/api/jobs", { type: "nope" }, { headers: { "x-request-id": id } });
    await bad.body?.cancel();
    assertEquals(bad.status, 422);
    assertEquals(bad.headers.get("x-request-id"), id);
  } finally {
    await s.close();
  }
});

const NOTE = { type: "notification", payload: { user_id: "u", channel: "push", message: "m" } };

async function jobCount(s: { db: { sql: TestSql } }): Promise<number> {
  const [{ n }] = await s.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
  return n;
}
type TestSql = Awaited<ReturnType<typeof openApp>>["db"]["sql"];

Deno.test("a declared Content-Length is held to the body limits without reading the body", async () => {
  const s = await openApp({ BODY_LIMIT_BYTES: "2048", BATCH_BODY_LIMIT_BYTES: "4096" });
  try {
    const post = (path: string, body: string, length: number) =>
      s.call(path, {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(length) },
        body,
      });
    const small = JSON.stringify(NOTE);
    const ok = await post("/api/jobs", small, small.length);
    assertEquals(ok.status, 201, await ok.clone().text());
    assertEquals((await bodyJson(ok)).payload, NOTE.payload);
    const big = JSON.stringify({
      ...NOTE,
      payload: { ...NOTE.payload, message: "x".repeat(3000) },
    });
    for (
      const [path, body, length] of [
        ["/api/jobs", big, big.length],
        ["/api/jobs", small, 2049], // declared over the limit: refused before the route
        ["/api/jobs", big, 100], // declared under it, larger in fact (only possible in-process)
        ["/api/jobs/batch", JSON.stringify({ jobs: [NOTE] }), 4097],
      ] as const
    ) {
      const res = await post(path, body, length);
      assertEquals(res.status, 413, `${path} ${length}`);
      assertEquals(
        (await bodyJson<{ error: { code: string } }>(res)).error.code,
        "payload_too_large",
      );
    }
    const batch = JSON.stringify({ jobs: [NOTE, NOTE] });
    const batchOk = await post("/api/jobs/batch", batch, batch.length);
    assertEquals(batchOk.status, 201);
    await batchOk.body?.cancel();
    assertEquals(await jobCount(s), 3);
  } finally {
    await s.close();
  }
});

Deno.test("over a socket: the 201 and the 413s of POST /api/jobs", async () => {
  const s = await startApiServer({ BODY_LIMIT_BYTES: "2048" });
  try {
    const ok = await s.post("/api/jobs", NOTE, { headers: { "x-request-id": "sock-1" } });
    const job = await bodyJson(ok);
    assertEquals(ok.status, 201);
    assertEquals(ok.headers.get("x-request-id"), "sock-1");
    assertEquals(ok.headers.get("location"), `/api/jobs/${job.id}`);
    assertEquals(job.payload, NOTE.payload);
    const big = { ...NOTE, payload: { ...NOTE.payload, message: "x".repeat(3000) } };
    const tooBig = await s.post("/api/jobs", big);
    assertEquals(tooBig.status, 413);
    await tooBig.body?.cancel();
    // Chunked (no Content-Length): cut off at the limit while streaming.
    const bytes = new TextEncoder().encode(JSON.stringify(big));
    const chunked = await s.call("/api/jobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes.subarray(0, 1000));
          c.enqueue(bytes.subarray(1000));
          c.close();
        },
      }),
    });
    assertEquals(chunked.status, 413);
    await chunked.body?.cancel();
    const malformed = await s.call("/api/jobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    assertEquals(malformed.status, 400);
    assertEquals(
      (await bodyJson<{ error: { code: string } }>(malformed)).error.code,
      "malformed_json",
    );
    assertEquals(await jobCount(s), 1);
  } finally {
    await s.close();
  }
});

Deno.test("withIsoDates: the same JSON text as JSON.stringify, Dates as strings", async () => {
  const a = new Date("2026-12-01T00:00:00.123Z");
  const b = new Date("2026-12-01T00:00:01.456Z");
  const values: unknown[] = [
    { x: 1, at: a, also: new Date(a.getTime()), then: b, again: a, nested: { at: b }, list: [a] },
    { bad: new Date(NaN), ok: b },
    { none: null, n: 1, s: "x" },
    [a, { at: b }],
    a,
    "text",
    null,
    Object.assign(Object.create(null), { at: a }),
  ];
  for (const v of values) assertEquals(JSON.stringify(withIsoDates(v)), JSON.stringify(v));
  const row = { at: a, n: 1 };
  const copy = withIsoDates(row) as Record<string, unknown>;
  assertEquals(copy, { at: a.toISOString(), n: 1 });
  assert(row.at instanceof Date, "the row itself is not changed");
  const plain = { n: 1 };
  assert(withIsoDates(plain) === plain, "nothing to copy without Dates");

  // A stored job row, as the coalescer returns it.
  const s = await openApp();
  try {
    const [r1, r2] = await Promise.all([
      s.app.enqueuer.enqueue({ type: "notification", payload: NOTE.payload }),
      s.app.enqueuer.enqueue({
        type: "notification",
        payload: NOTE.payload,
        scheduled_for: "2030-01-01T00:00:00Z",
      }),
    ]);
    for (const job of [r1, r2, r1]) {
      const out = withIsoDates(job);
      assert(out !== job, "a job row is copied");
      assertEquals(JSON.stringify(out), JSON.stringify(job));
    }
  } finally {
    await s.close();
  }
});
