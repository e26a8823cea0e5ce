/**
 * Who gets in: the dashboard login (signed HttpOnly SameSite=Lax cookie,
 * logout, rate-limited attempts, constant-time compare), pages behind it,
 * `/healthz` open, API tokens, secure headers on every response, and hostile
 * values in every page's forms and query strings (never a 500, nothing stored).
 */
import { createApp } from "../lib/app.ts";
import { parseConfig } from "../lib/config.ts";
import { addressKey, RateLimiter } from "../lib/http/rate_limit.ts";
import {
  KNOWN_BROWSER_COOKIE,
  SESSION_COOKIE,
  signKnownBrowser,
  signSession,
  timingSafeEqual,
} from "../lib/http/session.ts";
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { snapshot } from "./_helpers/faults.ts";
import { startApiServer } from "./_helpers/api_server.ts";
import { openApp } from "./_helpers/app.ts";
import { rawRequest } from "./_helpers/raw_http.ts";
import { loginLimiter } from "../routes/login.tsx";
import { sameOriginPath as safeNext } from "../lib/web/context.ts";

const PASSWORD = "correct horse battery staple";
const TOKEN = "api-token-0123456789";
const ORIGIN = "http://jobq.test";

let addr = 0;
/** A fresh client address (the login limiter counts per address). */
const nextAddr = () => `10.0.${Math.floor(++addr / 250)}.${addr % 250}`;

async function setup() {
  const app = await openApp(
    { DASHBOARD_PASSWORD: PASSWORD, API_TOKEN: TOKEN, PUBLIC_URL: ORIGIN },
    { base: ORIGIN },
  );
  const db = app.db;
  /** In-process request from `ip` (default: one shared test address). */
  const call = (path: string, init: RequestInit & { ip?: string } = {}) => {
    const { ip, ...rest } = init;
    return app.callFrom(ip ?? "10.9.9.9", path, rest);
  };
  const login = async (password: string, ip = nextAddr()) =>
    await call("/login", {
      method: "POST",
      ip,
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: new URLSearchParams({ password, next: "/jobs" }),
    });
  const res = await login(PASSWORD);
  const cookie = res.headers.get("set-cookie")!.split(";")[0];
  return {
    db,
    app,
    call,
    login,
    cookie,
    close: () => app.close(),
  };
}

Deno.test({
  name: "security: login, sessions, rate limit, tokens, headers",
}, async (t) => {
  const s = await setup();
  const job = await insertJob(s.db.sql, { status: "failed" });
  const PAGES = ["/", "/jobs", "/jobs/new", "/workers", `/jobs/${job.id}`, "/docs"];
  // The steps share one app, one job and one signed (stateless) session cookie; each signs in
  // from addresses of its own (`nextAddr`), so none depends on another having run before it.
  try {
    await t.step(
      "pages and forms redirect to /login without a session; /healthz stays open",
      async () => {
        for (const path of PAGES) {
          const res = await s.call(path);
          await res.body?.cancel();
          assertEquals(res.status, 303, path);
          assertMatch(res.headers.get("location") ?? "", /^\/login/, path);
        }
        const before = await snapshot(s.db.sql);
        for (
          const [path, body] of [
            ["/jobs/new", "type=email&to=a%40b.c&subject=s&body=b"],
            [`/jobs/${job.id}`, "action=retry"],
            ["/jobs", `action=delete&ids=${job.id}`],
          ]
        ) {
          const res = await s.call(path, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
            body,
          });
          await res.body?.cancel();
          assertEquals(res.status, 303, `POST ${path}`);
          assertMatch(res.headers.get("location") ?? "", /^\/login/);
        }
        assertEquals(await snapshot(s.db.sql), before, "nothing changed");
        const health = await s.call("/healthz");
        assertEquals(health.status, 200);
        await health.body?.cancel();
      },
    );

    await t.step(
      "login sets a signed HttpOnly SameSite=Lax cookie that opens the pages",
      async () => {
        const res = await s.login(PASSWORD);
        assertEquals(res.status, 303);
        assertEquals(res.headers.get("location"), "/jobs");
        const set = res.headers.get("set-cookie") ?? "";
        assertMatch(set, new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+;`));
        for (const attr of ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="]) {
          assert(set.includes(attr), `cookie has ${attr}: ${set}`);
        }
        for (const path of PAGES) {
          const page = await s.call(path, { headers: { cookie: s.cookie } });
          await page.body?.cancel();
          assertEquals(page.status, 200, path);
        }
      },
    );

    await t.step("a wrong password is 401 and sets no cookie", async () => {
      for (
        const pw of ["", "wrong", PASSWORD + " ", PASSWORD.slice(0, -1), PASSWORD.toUpperCase()]
      ) {
        const res = await s.login(pw);
        await res.body?.cancel();
        assertEquals(res.status, 401, JSON.stringify(pw));
        assertEquals(res.headers.get("set-cookie"), null);
      }
    });

    await t.step("forged, tampered and expired cookies are refused", async () => {
      const [payload, sig] = s.cookie.split("=")[1].split(".");
      const flip = (x: string) => (x[0] === "A" ? "B" : "A") + x.slice(1);
      const forged = [
        `${SESSION_COOKIE}=${flip(payload)}.${sig}`,
        `${SESSION_COOKIE}=${payload}.${flip(sig)}`,
        `${SESSION_COOKIE}=${payload}`,
        `${SESSION_COOKIE}=${payload}.${sig}.x`,
        `${SESSION_COOKIE}=${await signSession("another secret entirely", "admin")}`,
        `${SESSION_COOKIE}=${await signSession(PASSWORD, "admin", Date.now() - 8 * 86400_000)}`,
        `${SESSION_COOKIE}=%00%ff; x=y`,
      ];
      for (const cookie of forged) {
        const res = await s.call("/jobs", { headers: { cookie } });
        await res.body?.cancel();
        assertEquals(res.status, 303, cookie);
      }
    });

    await t.step(
      "logout clears the cookie; cross-site logout and login posts are refused",
      async () => {
        const res = await s.call("/logout", {
          method: "POST",
          headers: { cookie: s.cookie, origin: ORIGIN },
        });
        assertEquals(res.status, 303);
        assertEquals(res.headers.get("location"), "/login");
        assertMatch(res.headers.get("set-cookie") ?? "", /^jobq_session=; .*Max-Age=0/);
        for (const path of ["/logout", "/login", "/jobs/new"]) {
          const x = await s.call(path, {
            method: "POST",
            headers: {
              cookie: s.cookie,
              origin: "https://evil.example",
              "content-type": "application/x-www-form-urlencoded",
            },
            body: `password=${encodeURIComponent(PASSWORD)}`,
          });
          await x.body?.cancel();
          assertEquals(x.status, 403, `cross-site POST ${path}`);
        }
      },
    );

    await t.step(
      "login attempts are rate-limited per address: the 6th failure in a minute is 429",
      async () => {
        const ip = nextAddr();
        for (let i = 0; i < 5; i++) {
          const res = await s.login("guess-" + i, ip);
          await res.body?.cancel();
          assertEquals(res.status, 401);
        }
        const limited = await s.login("guess-5", ip);
        await limited.body?.cancel();
        assertEquals(limited.status, 429);
        assert(Number(limited.headers.get("retry-after")) >= 1, "Retry-After");
        const right = await s.login(PASSWORD, ip);
        await right.body?.cancel();
        assertEquals(right.status, 429, "even the right password waits out the lockout");
        const other = await s.login(PASSWORD);
        await other.body?.cancel();
        assertEquals(other.status, 303, "another address still signs in");
      },
    );

    await t.step(
      "API: 401 without or with a wrong token, 200 with it; the document stays open",
      async () => {
        for (const authorization of [undefined, "Bearer nope", `Basic ${btoa(TOKEN)}`, TOKEN]) {
          const headers: Record<string, string> = authorization ? { authorization } : {};
          const res = await s.call("/api/stats", { headers });
          const body = await res.json();
          assertEquals(
            [res.status, body.error?.code],
            [401, "unauthorized"],
            String(authorization),
          );
        }
        const ok = await s.call("/api/stats", { headers: { authorization: `Bearer ${TOKEN}` } });
        await ok.body?.cancel();
        assertEquals(ok.status, 200);
        const doc = await s.call("/api/openapi.json");
        await doc.body?.cancel();
        assertEquals(doc.status, 200);
      },
    );

    await t.step(
      "secure headers on every response: CSP with this response's nonce, nosniff, frame-ancestors, referrer policy",
      async () => {
        const auth = { cookie: s.cookie, authorization: `Bearer ${TOKEN}` };
        const paths = [
          ...PAGES,
          "/login",
          "/healthz",
          "/readyz",
          "/metrics",
          "/no-such-page",
          `/jobs/${crypto.randomUUID()}`,
          "/api/stats",
          "/api/jobs?limit=1",
          "/api/nothing",
          "/api/openapi.json",
        ];
        const nonces = new Set<string>();
        for (const path of paths) {
          for (const headers of [auth, {}]) {
            const res = await s.call(path, { headers });
            const h = res.headers;
            const text = await res.text();
            const where = `${path} (${res.status}, ${
              Object.keys(headers).length ? "auth" : "anon"
            })`;
            assertEquals(h.get("x-content-type-options"), "nosniff", where);
            assert(res.status < 500, where);
            if (path.startsWith("/api") || (h.get("content-type") ?? "").startsWith("text/html")) {
              assertEquals(h.get("x-frame-options"), "DENY", where);
              assert(h.get("referrer-policy"), `referrer-policy on ${where}`);
              const fa = (h.get("content-security-policy") ?? "").includes(
                "frame-ancestors 'none'",
              );
              assert(fa || path === "/docs", `frame-ancestors on ${where}`);
            }
            if (!(h.get("content-type") ?? "").startsWith("text/html")) continue;
            if (path === "/docs") continue; // Swagger UI's own policy
            const csp = h.get("content-security-policy") ?? "";
            assert(csp.includes("frame-ancestors 'none'"), `frame-ancestors on ${where}`);
            assert(csp.includes("object-src 'none'"), where);
            const nonce = /script-src 'self' 'nonce-([A-Za-z0-9+/=_-]+)'/.exec(csp)?.[1];
            assert(nonce, `CSP script nonce on ${where}: ${csp}`);
            assert(!/unsafe-inline'[^;]*;/.test(csp.split("script-src")[1]?.split(";")[0] ?? ""));
            nonces.add(nonce);
            for (const m of text.matchAll(/<script\b([^>]*)>/g)) {
              const attrs = m[1];
              if (/\bsrc=/.test(attrs) && !/type="module"/.test(attrs) && !/nonce=/.test(attrs)) {
                continue;
              }
              assert(
                attrs.includes(`nonce="${nonce}"`),
                `inline script without the nonce on ${where}`,
              );
            }
          }
        }
        assert(nonces.size > 5, "every response has a nonce of its own");
      },
    );
  } finally {
    await s.close();
  }
});

/** Hostile values for form fields and query parameters. */
const HOSTILE = [
  "",
  " ",
  "'; DROP TABLE job; --",
  '" OR 1=1 --',
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "javascript:alert(1)",
  "%00",
  "\u0000",
  "\uFFFF\uFFFE\u202E",
  "../../etc/passwd",
  "-1",
  "1e309",
  "NaN",
  "99999999999999999999999",
  "0x10",
  "a".repeat(8_000),
  '{"$gt":""}',
  "[]",
  "null",
  "//evil.example/",
  "/\\evil.example",
  "https://evil.example/",
  "00000000-0000-0000-0000-000000000000",
  "😀".repeat(100),
];

Deno.test({
  name:
    "security: hostile values in every page's query string and form never give a 500 nor change anything",
}, async () => {
  const s = await setup();
  try {
    const job = await insertJob(s.db.sql, { status: "completed" });
    const pages = ["/", "/jobs", "/jobs/new", "/workers", `/jobs/${job.id}`, "/login"];
    const params = [
      "status",
      "type",
      "priority",
      "q",
      "sort",
      "order",
      "limit",
      "offset",
      "page",
      "range",
      "next",
      "done",
      "id",
    ];
    const before = await snapshot(s.db.sql);
    const bad: string[] = [];
    let n = 0;
    const check = async (label: string, res: Response) => {
      n++;
      const text = await res.text();
      if (res.status >= 500) bad.push(`${label} → ${res.status} ${text.slice(0, 200)}`);
      if (/<script>alert\(1\)<\/script>|<img src=x onerror/.test(text)) {
        bad.push(`${label} → unescaped markup in the page`);
      }
    };
    const headers = { cookie: s.cookie };
    for (const page of pages) {
      for (const v of HOSTILE) {
        const qs = params.map((p) => `${p}=${encodeURIComponent(v)}`).join("&");
        await check(`GET ${page}?…=${v.slice(0, 30)}`, await s.call(`${page}?${qs}`, { headers }));
        if (v.length > 100) continue; // the long values once per page are enough
        const dup = params.map((p) => `${p}=${encodeURIComponent(v)}&${p}=x`).join("&");
        await check(`GET ${page} (repeated)`, await s.call(`${page}?${dup}`, { headers }));
      }
      await check(
        `GET ${page}?%E0%A4%A`,
        await s.call(`${page}?q=%E0%A4%A&status=%ZZ`, { headers }),
      );
    }
    // Forms: every field of every form, hostile; invalid forms must store nothing.
    const forms: [string, string[]][] = [
      ["/jobs/new", [
        "type",
        "priority",
        "to",
        "subject",
        "body",
        "report_type",
        "format",
        "date_range.from",
        "date_range.to",
        "user_id",
        "channel",
        "message",
        "max_attempts",
        "scheduled_for",
      ]],
      [`/jobs/${job.id}`, ["action"]],
      [`/jobs/${crypto.randomUUID()}`, ["action"]],
      ["/jobs", ["action", "ids", "scope", "back", "status", "type", "q", "undo", "all"]],
      ["/login", ["password", "next"]],
    ];
    for (const [path, fields] of forms) {
      for (const v of HOSTILE) {
        const body = new URLSearchParams();
        for (const f of fields) body.append(f, f === "type" && v === "" ? "email" : v);
        await check(
          `POST ${path} ${v.slice(0, 30)}`,
          await s.call(path, {
            method: "POST",
            ip: nextAddr(),
            headers: {
              ...headers,
              origin: ORIGIN,
              "content-type": "application/x-www-form-urlencoded",
            },
            body,
          }),
        );
      }
      for (
        const [ct, raw] of [
          ["application/x-www-form-urlencoded", "%%%&=&==&a=%E0%A4%A"],
          ["multipart/form-data; boundary=xyz", "--xyz\r\nbroken"],
          ["multipart/form-data", "no boundary"],
          ["application/json", '{"action":"delete"}'],
          ["text/plain", "\u0000\u0001"],
        ]
      ) {
        await check(
          `POST ${path} as ${ct}`,
          await s.call(path, {
            method: "POST",
            ip: nextAddr(),
            headers: { ...headers, origin: ORIGIN, "content-type": ct },
            body: raw,
          }),
        );
      }
    }
    console.log(`hostile page requests: ${n}`);
    assertEquals(bad, [], "no 500 and no unescaped markup");
    assertEquals(await snapshot(s.db.sql), before, "no stored change");
  } finally {
    await s.close();
  }
});

Deno.test("security: the login limiter counts failures per key and overall, per window", () => {
  let t = 0;
  const l = new RateLimiter({ max: 2, globalMax: 5, windowMs: 60_000, now: () => t });
  assertEquals(l.blocked("a"), 0);
  l.fail("a");
  l.fail("a");
  assertEquals(l.blocked("a"), 60);
  assertEquals(l.blocked("b"), 0);
  t = 30_000;
  assertEquals(l.blocked("a"), 30);
  t = 60_000;
  assertEquals(l.blocked("a"), 0, "a new window");
  l.fail("a");
  l.reset("a");
  assertEquals(l.blocked("a"), 0, "a success forgets the failures");
  for (const k of ["c", "d", "e", "f", "g"]) l.fail(k);
  assertEquals(l.blocked("h"), 60, "the overall cap holds every key");
  const bounded = new RateLimiter({ max: 1, globalMax: 1e9, windowMs: 1000, maxKeys: 3 });
  for (let i = 0; i < 100; i++) bounded.fail("k" + i);
  assertEquals(bounded.blocked("k0"), 0, "old keys are dropped beyond maxKeys");
  assert(bounded.blocked("k99") > 0);
});

Deno.test("security: timingSafeEqual compares whole strings, whatever their lengths", () => {
  assertEquals(timingSafeEqual("secret", "secret"), true);
  assertEquals(timingSafeEqual("", ""), true);
  for (const other of ["", "s", "secre", "secrets", "Secret", "secreT", "secret\u0000", "ſecret"]) {
    assertEquals(timingSafeEqual("secret", other), false, other);
    assertEquals(timingSafeEqual(other, "secret"), false, other);
  }
  // Same length, every position differing in one bit: still unequal.
  for (let i = 0; i < 6; i++) {
    const x = [..."secret"];
    x[i] = String.fromCharCode(x[i].charCodeAt(0) ^ 1);
    assertEquals(timingSafeEqual("secret", x.join("")), false);
  }
});

Deno.test({
  name:
    "security: a Host the server is not meant for is 421 before any handler, so a rebound DNS name reaches nothing",
}, async () => {
  // The default set-up: loopback, no API_TOKEN, no password (the compose web container's too).
  // A real socket: the Host header is the point, and only raw HTTP over TCP sends any Host.
  const s = await startApiServer();
  try {
    const port = Number(new URL(s.base).port);
    const job = await insertJob(s.db.sql, { status: "failed" });
    const before = await snapshot(s.db.sql);
    // (No Host at all is not a browser's request; Deno then fills in the listen address.)
    const hostile = [
      `attacker.test:${port}`,
      `127.0.0.1.nip.io:${port}`,
      `localhost.attacker.test:${port}`,
      `attacker.test@127.0.0.1:${port}`,
      `127.0.0.1:${port}/x`,
      "",
    ];
    for (const host of hostile) {
      const bulk = JSON.stringify({ action: "delete", ids: [job.id] });
      const origin = { origin: `http://${host}`, "sec-fetch-site": "same-origin" };
      for (
        const [method, target, body] of [
          ["GET", "/api/stats"],
          ["POST", "/api/jobs/bulk", bulk],
          ["GET", "/metrics"],
          ["GET", "/healthz"],
          ["GET", "/readyz"],
          ["GET", "/"],
          ["GET", `/jobs/${job.id}`],
          ["POST", "/jobs", `action=delete&ids=${job.id}`],
          ["GET", "/api/openapi.json"],
        ]
      ) {
        const json = target.startsWith("/api/") && method === "POST";
        const res = await rawRequest(port, {
          method,
          target,
          host,
          body,
          headers: {
            ...origin,
            "content-type": json ? "application/json" : "application/x-www-form-urlencoded",
          },
        });
        const where = `${method} ${target} Host ${JSON.stringify(host)}`;
        assertEquals(res.status, 421, where);
        assertEquals(res.headers.get("x-content-type-options"), "nosniff", where);
        assertMatch(res.headers.get("content-security-policy") ?? "", /default-src 'none'/, where);
        assertMatch(res.body, /does not answer to the host .*PUBLIC_URL or ALLOWED_HOSTS/, where);
        if (target.startsWith("/api/") && !host.includes("/")) {
          assertMatch(res.body, /"code":"misdirected_request"/, where);
        }
      }
    }
    assertEquals(await snapshot(s.db.sql), before, "nothing read, nothing deleted");
    for (
      const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, "LOCALHOST.:8080"]
    ) {
      const res = await rawRequest(port, { target: "/api/stats", host });
      assertEquals(res.status, 200, `Host ${host}`);
    }
  } finally {
    await s.close();
  }
});

Deno.test({
  name:
    "security: PUBLIC_URL, ALLOWED_HOSTS and a specific HOST are the names answered besides loopback",
}, async () => {
  const db = await createTestDb();
  try {
    const statusFor = async (env: Record<string, string>, host: string) => {
      const config = parseConfig({ DATABASE_URL: db.url, LOG_LEVEL: "error", ...env });
      const app = await createApp({ sql: db.sql, config });
      const res = await app.fetch(new Request("http://localhost/healthz", { headers: { host } }));
      await res.body?.cancel();
      await app.close();
      return res.status;
    };
    const secrets = { API_TOKEN: TOKEN, DASHBOARD_PASSWORD: PASSWORD };
    const wide = { HOST: "0.0.0.0", ...secrets };
    const cases: [Record<string, string>, string, number][] = [
      [{ PUBLIC_URL: "https://jobq.example.com" }, "jobq.example.com", 200],
      [{ PUBLIC_URL: "https://jobq.example.com" }, "JOBQ.Example.COM:443", 200],
      [{ PUBLIC_URL: "https://jobq.example.com" }, "other.example.com", 421],
      [{ ALLOWED_HOSTS: "a.example, 10.0.0.5" }, "10.0.0.5:8000", 200],
      [{ ALLOWED_HOSTS: "a.example, 10.0.0.5" }, "a.example", 200],
      [{ ALLOWED_HOSTS: "a.example, 10.0.0.5" }, "b.a.example", 421],
      [{ HOST: "10.1.2.3", ...secrets }, "10.1.2.3:8000", 200],
      [wide, "localhost:8000", 200],
      [wide, "10.1.2.3:8000", 421],
      [{ ...wide, PUBLIC_URL: "http://10.1.2.3:8000" }, "10.1.2.3:8000", 200],
    ];
    for (const [env, host, status] of cases) {
      assertEquals(await statusFor(env, host), status, `${JSON.stringify(env)} Host ${host}`);
    }
  } finally {
    await db.drop();
  }
});

Deno.test({
  name:
    "security: a literal * path and odd login targets are 4xx with secure headers, never a 500; next stays on this origin",
}, async () => {
  const s = await setup();
  try {
    for (const path of ["/*", "/%2A", "/api/*", "/jobs/*", "/static/*", "/api/jobs/*/retry"]) {
      for (const method of ["GET", "HEAD", "OPTIONS", "POST"]) {
        const res = await s.call(path, { method, headers: { cookie: s.cookie } });
        await res.body?.cancel();
        const where = `${method} ${path}`;
        assert(res.status >= 400 && res.status < 500, `${where} → ${res.status}`);
        assertEquals(res.headers.get("x-content-type-options"), "nosniff", where);
        assertMatch(res.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
      }
    }
    // A real socket: an asterisk-form target (`OPTIONS *`) exists only on the wire.
    const server = await startApiServer();
    try {
      const port = Number(new URL(server.base).port);
      for (const method of ["OPTIONS", "GET"]) {
        const res = await rawRequest(port, { method, target: "*", host: `127.0.0.1:${port}` });
        assert(res.status >= 400 && res.status < 500, `${method} * → ${res.status}`);
      }
    } finally {
      await server.close();
    }

    const post = (next: string) =>
      s.call("/login", {
        method: "POST",
        ip: nextAddr(),
        headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
        body: new URLSearchParams({ password: PASSWORD, next }),
      });
    for (
      const [next, location] of [
        ["/\r\n/x", "/"],
        ["/\t/evil.example", "/"],
        ["/\n/evil.example", "/"],
        ["/jobs?status=failed", "/jobs?status=failed"],
        ["/jobs?q=\u00e9", "/jobs?q=%C3%A9"],
      ]
    ) {
      const res = await post(next);
      await res.body?.cancel();
      assertEquals(
        [res.status, res.headers.get("location")],
        [303, location],
        JSON.stringify(next),
      );
      const form = await s.call(`/login?next=${encodeURIComponent(next)}`);
      const html = await form.text();
      assertEquals(form.status, 200, `GET /login?next=${JSON.stringify(next)}`);
      assert(!/name="next" value="\/\s/.test(html), `the form's next for ${JSON.stringify(next)}`);
    }
  } finally {
    await s.close();
  }
});

Deno.test("security: safeNext keeps only paths on this origin", () => {
  for (
    const [next, want] of [
      [null, "/"],
      ["", "/"],
      ["/", "/"],
      ["/jobs/abc?x=1#t", "/jobs/abc?x=1#t"],
      ["//evil.example", "/"],
      ["/\\evil.example", "/"],
      ["/\t/evil.example", "/"],
      ["/\r\n/x", "/"],
      ["/ /x", "/"],
      ["/\u0000", "/"],
      ["https://evil.example/", "/"],
      ["javascript:alert(1)", "/"],
      ["/a/../b", "/b"],
      ["/\u{1F600}", "/%F0%9F%98%80"],
    ] as [string | null, string][]
  ) {
    assertEquals(safeNext(next), want, JSON.stringify(next));
  }
});

Deno.test({
  name:
    "security: a flood of wrong passwords from many addresses does not lock out a browser that signed in before",
}, async () => {
  const s = await setup();
  loginLimiter.clear();
  try {
    const first = await s.login(PASSWORD);
    await first.body?.cancel();
    const mark = first.headers.getSetCookie().find((c) => c.startsWith(KNOWN_BROWSER_COOKIE + "="));
    assert(mark, `a good login marks the browser: ${first.headers.getSetCookie()}`);
    for (const attr of ["HttpOnly", "SameSite=Lax", "Path=/login", "Max-Age=34560000"]) {
      assert(mark.includes(attr), `the mark has ${attr}: ${mark}`);
    }
    const known = mark.split(";")[0];
    // 50 wrong passwords, each from another address: the overall cap is reached.
    for (let i = 0; i < 50; i++) {
      const res = await s.login("guess-" + i);
      await res.body?.cancel();
      assertEquals(res.status, 401);
    }
    const stranger = await s.login(PASSWORD);
    await stranger.body?.cancel();
    assertEquals(stranger.status, 429, "a browser never seen before waits out the overall cap");
    const admin = async (password: string, extra = known) =>
      await s.call("/login", {
        method: "POST",
        ip: nextAddr(),
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          origin: ORIGIN,
          cookie: extra,
        },
        body: new URLSearchParams({ password, next: "/jobs" }),
      });
    const back = await admin(PASSWORD);
    await back.body?.cancel();
    assertEquals(back.status, 303, "the browser that signed in before still signs in");
    assertMatch(back.headers.get("set-cookie") ?? "", /^jobq_session=/);
    // Forged or foreign marks, and a session cookie in the mark's place, count for nothing.
    for (
      const forged of [
        `${KNOWN_BROWSER_COOKIE}=${await signKnownBrowser("another secret entirely", "b")}`,
        `${KNOWN_BROWSER_COOKIE}=${await signSession(PASSWORD, "admin")}`,
        `${KNOWN_BROWSER_COOKIE}=${known.split("=")[1]}x`,
      ]
    ) {
      const res = await admin(PASSWORD, forged);
      await res.body?.cancel();
      assertEquals(res.status, 429, forged);
    }
    const asSession = await s.call("/jobs", {
      headers: { cookie: `${SESSION_COOKIE}=${known.split("=")[1]}` },
    });
    await asSession.body?.cancel();
    assertEquals(asSession.status, 303, "the mark is no session");
    // The known browser has a limit of its own: 5 wrong passwords, then 429 from any address.
    for (let i = 0; i < 5; i++) {
      const res = await admin("wrong-" + i);
      await res.body?.cancel();
      assertEquals(res.status, 401);
    }
    const limited = await admin(PASSWORD);
    await limited.body?.cancel();
    assertEquals(limited.status, 429);
  } finally {
    loginLimiter.clear();
    await s.close();
  }
});

Deno.test("security: the limiter's overall cap can be left out per attempt; IPv6 counts by /64", () => {
  let t = 0;
  const l = new RateLimiter({ max: 2, globalMax: 3, windowMs: 60_000, now: () => t });
  for (const k of ["a", "b", "c"]) l.fail(k);
  assertEquals(l.blocked("d"), 60);
  assertEquals(l.blocked("browser:x", { global: false }), 0, "outside the overall cap");
  l.fail("browser:x", { global: false });
  l.fail("browser:x", { global: false });
  assertEquals(l.blocked("browser:x", { global: false }), 60, "but within its own limit");
  t = 60_000;
  assertEquals(l.blocked("d"), 0);
  l.clear();
  assertEquals(addressKey("10.1.2.3"), "10.1.2.3");
  assertEquals(addressKey(undefined), "unknown");
  assertEquals(addressKey("::ffff:10.1.2.3"), "10.1.2.3");
  assertEquals(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assertEquals(addressKey("2001:DB8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64");
  assertEquals(addressKey("2001:db8::1"), "2001:db8:0:0::/64");
  assertEquals(addressKey("::1"), "0:0:0:0::/64");
  assertEquals(addressKey("fe80::1%eth0"), "fe80:0:0:0::/64");
});
