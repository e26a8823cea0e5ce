/** API_TOKEN auth, the dashboard-session fallback with its same-origin rule, and body limits. */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { openApp } from "./_helpers/app.ts";
import { SESSION_COOKIE, signSession } from "../lib/http/session.ts";

const JOB = { type: "email", payload: { to: "a@example.com", subject: "s", body: "b" } };

Deno.test({
  name: "api auth: bearer tokens, session cookies, same-origin for cookies",
}, async (t) => {
  const secret = "dashboard-secret-1234";
  const s = await openApp({
    API_TOKEN: "tok-one, tok-two",
    DASHBOARD_PASSWORD: secret,
  });
  // The steps share the app and its database, not each other's results: each sends its own requests.
  try {
    await t.step("no token is 401 with WWW-Authenticate, on every /api route", async () => {
      for (const path of ["/api/jobs", "/api/stats", "/api/events", "/api/nothing"]) {
        const res = await s.call(path);
        const body = await bodyJson<{ error: { code: string } }>(res);
        assertEquals([res.status, body.error.code], [401, "unauthorized"], path);
        assertEquals(res.headers.get("www-authenticate"), 'Bearer realm="jobq"');
      }
      assertEquals((await s.post("/api/jobs", JOB)).status, 401);
    });

    await t.step("a wrong token or scheme is 401", async () => {
      for (const header of ["Bearer tok-three", "Bearer tok-on", "Basic dG9rLW9uZQ==", "tok-one"]) {
        const res = await s.call("/api/stats", { headers: { authorization: header } });
        assertEquals(res.status, 401, header);
        await res.body?.cancel();
      }
    });

    await t.step("any token of the comma-separated list works", async () => {
      for (const token of ["tok-one", "tok-two"]) {
        const res = await s.call("/api/stats", { token });
        assertEquals(res.status, 200);
        await res.body?.cancel();
      }
      const created = await s.post("/api/jobs", JOB, { token: "tok-two" });
      assertEquals(created.status, 201);
      await created.body?.cancel();
    });

    await t.step("the OpenAPI document needs no token", async () => {
      const res = await s.call("/api/openapi.json");
      assertEquals(res.status, 200);
      await res.body?.cancel();
    });

    await t.step(
      "a dashboard session cookie works; unsafe methods need the same origin",
      async () => {
        const cookie = `${SESSION_COOKIE}=${await signSession(secret, "admin")}`;
        const get = await s.call("/api/stats", { headers: { cookie } });
        assertEquals(get.status, 200);
        await get.body?.cancel();
        const noOrigin = await s.post("/api/jobs", JOB, { headers: { cookie } });
        assertEquals(noOrigin.status, 403);
        assertEquals(
          (await bodyJson<{ error: { code: string } }>(noOrigin)).error.code,
          "cross_origin_request",
        );
        const crossSite = await s.post("/api/jobs", JOB, {
          headers: { cookie, "sec-fetch-site": "cross-site", origin: "https://evil.example" },
        });
        assertEquals(crossSite.status, 403);
        await crossSite.body?.cancel();
        const otherOrigin = await s.post("/api/jobs", JOB, {
          headers: { cookie, origin: "https://evil.example" },
        });
        assertEquals(otherOrigin.status, 403);
        await otherOrigin.body?.cancel();
        const sameOrigin = await s.post("/api/jobs", JOB, { headers: { cookie, origin: s.base } });
        assertEquals(sameOrigin.status, 201);
        await sameOrigin.body?.cancel();
        const fetchMeta = await s.post("/api/jobs", JOB, {
          headers: { cookie, "sec-fetch-site": "same-origin" },
        });
        assertEquals(fetchMeta.status, 201);
        await fetchMeta.body?.cancel();
      },
    );

    await t.step("a forged or foreign cookie is 401", async () => {
      const forged = `${SESSION_COOKIE}=${await signSession("another-secret-xyz", "admin")}`;
      const res = await s.call("/api/stats", { headers: { cookie: forged } });
      assertEquals(res.status, 401);
      await res.body?.cancel();
    });
  } finally {
    await s.close();
  }
});

Deno.test({
  name: "api without API_TOKEN: open, but browsers' cross-site writes are refused",
}, async () => {
  const s = await openApp({ BODY_LIMIT_BYTES: "2048", BATCH_BODY_LIMIT_BYTES: "4096" });
  try {
    const open = await s.post("/api/jobs", JOB);
    assertEquals(open.status, 201);
    await open.body?.cancel();
    const cross = await s.post("/api/jobs", JOB, {
      headers: { "sec-fetch-site": "cross-site", origin: "https://evil.example" },
    });
    assertEquals(cross.status, 403);
    await cross.body?.cancel();

    // Configured limits: 2 KiB per request, 4 KiB per batch.
    const big = { ...JOB, payload: { ...JOB.payload, body: "x".repeat(3000) } };
    const tooBig = await s.post("/api/jobs", big);
    assertEquals(tooBig.status, 413);
    assertEquals(
      (await bodyJson<{ error: { code: string } }>(tooBig)).error.code,
      "payload_too_large",
    );
    const batchOk = await s.post("/api/jobs/batch", { jobs: [big] });
    assertEquals(batchOk.status, 201);
    await batchOk.body?.cancel();
    const batchBig = await s.post("/api/jobs/batch", { jobs: [big, big] });
    assertEquals(batchBig.status, 413);
    await batchBig.body?.cancel();

    // A streamed body without Content-Length is cut off at the limit, too.
    const chunk = new TextEncoder().encode(JSON.stringify(big));
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(chunk);
        c.close();
      },
    });
    const streamed = await s.call("/api/jobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
    });
    assertEquals(streamed.status, 413);
    await streamed.body?.cancel();
    const [{ n }] = await s.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
    assert(n === 2, `two jobs stored, got ${n}`);
  } finally {
    await s.close();
  }
});
