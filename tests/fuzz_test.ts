/**
 * Bounded-time fuzz of every route (API and pages, from the routes folder):
 * random methods, path parameters, query strings, headers, and bodies of
 * random bytes, random JSON and random forms, with and without credentials.
 * No answer may be a 5xx, and the stored rows must not change (the database
 * holds only jobs that no id-only request may change: completed and leased).
 *
 * `FUZZ_SECONDS` (default 15) bounds the run; `FUZZ_SEED` replays one.
 */
import { join } from "node:path";
import { discover } from "../lib/web/routes.ts";
import { ROOT } from "../lib/web/paths.ts";
import { signSession } from "../lib/http/session.ts";
import { assertEquals } from "./_helpers/assert.ts";
import { openApp } from "./_helpers/app.ts";
import { seededRandom } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { snapshot } from "./_helpers/faults.ts";

const ORIGIN = "http://jobq.test";
const PASSWORD = "fuzz-password-123";
const TOKEN = "fuzz-token-123";

Deno.test({
  name:
    "fuzz: random bytes, JSON and forms against every route give no 5xx; refused requests change nothing",
}, async () => {
  const seconds = Number(Deno.env.get("FUZZ_SECONDS") ?? "15");
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  const rnd = seededRandom(seed);
  const app = await openApp(
    { DASHBOARD_PASSWORD: PASSWORD, API_TOKEN: TOKEN, PUBLIC_URL: ORIGIN },
    { base: ORIGIN },
  );
  const db = app.db;
  const cookie = `jobq_session=${await signSession(PASSWORD, "admin")}`;
  try {
    const done = await insertJob(db.sql, { status: "completed", result: { ok: 1 } });
    const held = await insertJob(db.sql, {
      status: "processing",
      locked_by: "fuzz-worker/1",
      locked_until: new Date(Date.now() + 3600_000),
    });
    const arranged = await app.post("/api/schedules", {
      name: "nightly",
      cron: "0 2 * * *",
      type: "email",
      payload: { to: "a@example.com", subject: "s", body: "b" },
      enabled: false,
    }, { token: TOKEN });
    assertEquals(arranged.status, 201, await arranged.text());
    const alert = await app.post("/api/alerts", { name: "nobody", kind: "no_worker" }, {
      token: TOKEN,
    });
    assertEquals(alert.status, 201, await alert.text());
    const patterns = (await discover(join(ROOT, "routes")))
      .filter((f) => f.kind === "route").map((f) => f.pattern);
    // The stored state a refused request must leave as it was. A request the
    // app accepts (2xx/3xx: random input can happen to be valid, e.g.
    // `{"result": …}` completing the held job) moves this baseline on.
    let before = await snapshot(db.sql);
    let accepted = 0;

    const int = (n: number) => Math.floor(rnd() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
    const WORDS = [
      "type",
      "payload",
      "priority",
      "action",
      "ids",
      "result",
      "error",
      "status",
      "email",
      "report",
      "notification",
      "retry",
      "cancel",
      "delete",
      "worker",
      "attempt",
      "to",
      "subject",
      "body",
      "__proto__",
      "constructor",
      "max_attempts",
      "scheduled_for",
      "unique_key",
      "timeout_seconds",
      "expires_at",
      "queue",
      "paused",
      "concurrency",
      "name",
      "cron",
      "timezone",
      "enabled",
      "default",
      "reports",
      "@daily",
      "* * * * *",
      "Europe/Berlin",
      "limit",
      "offset",
      "q",
      "sort",
      "order",
      "kind",
      "threshold",
      "window_minutes",
      "no_worker",
      "failure_rate",
      "filter",
      "dry_run",
      "all",
      "undo_id",
    ];
    const pad = (x: number, w = 2) => String(x).padStart(w, "0");
    // Well-formed ISO 8601, often beyond what PostgreSQL stores (year 0000, offsets past ±15:59).
    const randInstant = (): string =>
      `${pad(pick([0, 1, 9999, int(10000)]), 4)}-${pad(1 + int(12))}-${pad(1 + int(28))}T${
        pad(int(24))
      }:${pad(int(60))}:${pad(int(60))}${
        pick(["Z", `${pick(["+", "-"])}${pad(int(24))}:${pad(int(60))}`])
      }`;
    const randString = (): string => {
      switch (int(7)) {
        case 6:
          return randInstant();
        case 0:
          return pick(WORDS);
        case 1:
          return String.fromCharCode(...Array.from({ length: int(20) }, () => int(0x2fff)));
        case 2:
          return "x".repeat(int(5000));
        case 3:
          return pick([
            "<script>alert(1)</script>",
            "'; DROP TABLE job;--",
            "\u0000",
            "%00",
            "../",
          ]);
        case 4:
          return crypto.randomUUID();
        default:
          return String(int(1e6) - 500);
      }
    };
    const randJson = (depth = 0): unknown => {
      const k = int(depth > 3 ? 5 : 8);
      if (k === 0) return null;
      if (k === 1) return rnd() < 0.5;
      if (k === 2) return pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1, 3, 5]);
      if (k === 3 || k === 4) return randString();
      if (k === 5) return Array.from({ length: int(5) }, () => randJson(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = int(6); i > 0; i--) o[pick(WORDS)] = randJson(depth + 1);
      return o;
    };
    const param = () =>
      pick([
        done.id,
        held.id,
        crypto.randomUUID(),
        encodeURIComponent(randString()),
        "%2e%2e",
        "",
        "default",
        "nightly",
        "1",
      ]);
    const path = () => {
      const p = pick(patterns).replace(/:[A-Za-z_]+/g, () => param()).replace(
        /\*$/,
        () => pick(["app.js", "../../deno.json", "%2e%2e/%2e%2e/etc/passwd", randString()]),
      );
      const qs = Array.from(
        { length: int(5) },
        () => `${encodeURIComponent(pick(WORDS))}=${encodeURIComponent(randString())}`,
      );
      return (p || "/") + (qs.length ? "?" + qs.join("&") : "");
    };
    const body = (): { ct: string | null; body: BodyInit | null } => {
      switch (int(5)) {
        case 0:
          return {
            ct: pick([null, "application/octet-stream", "application/json", "text/plain"]),
            body: crypto.getRandomValues(new Uint8Array(int(2048))),
          };
        case 1:
        case 2:
          return {
            ct: pick(["application/json", "application/json; charset=utf-8", "text/json"]),
            body: JSON.stringify(randJson()),
          };
        case 3: {
          const f = new URLSearchParams();
          for (let i = int(8); i > 0; i--) f.append(pick(WORDS), randString());
          return { ct: "application/x-www-form-urlencoded", body: f.toString() };
        }
        default:
          return {
            ct: pick(["multipart/form-data", "multipart/form-data; boundary=zz"]),
            body: "--zz\r\n" + randString(),
          };
      }
    };

    const bad: string[] = [];
    const statuses = new Map<number, number>();
    let n = 0;
    const deadline = performance.now() + seconds * 1000;
    while (performance.now() < deadline) {
      const method = pick(["GET", "GET", "POST", "POST", "DELETE", "PUT", "PATCH", "HEAD"]);
      const url = path();
      const headers = new Headers();
      const cred = int(4);
      if (cred === 0 || cred === 1) headers.set("authorization", `Bearer ${TOKEN}`);
      if (cred === 0 || cred === 2) headers.set("cookie", cookie);
      if (rnd() < 0.8) headers.set("origin", ORIGIN);
      let init: RequestInit = { method, headers };
      if (method !== "GET" && method !== "HEAD") {
        const b = body();
        if (b.ct) headers.set("content-type", b.ct);
        init = { ...init, body: b.body };
      }
      let res: Response;
      try {
        res = await app.fetch(ORIGIN + url, init);
      } catch (err) {
        bad.push(`${method} ${url.slice(0, 120)} threw ${(err as Error).message}`);
        continue;
      }
      n++;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const text = (res.headers.get("content-type") ?? "").includes("event-stream")
        ? (await res.body?.cancel(), "")
        : await res.text();
      if (res.status >= 500) {
        bad.push(
          `${method} ${url.slice(0, 120)} [${headers.get("content-type")}] → ${res.status} ${
            text.slice(0, 160)
          }`,
        );
      }
      if (method !== "GET" && method !== "HEAD") {
        const after = await snapshot(db.sql);
        if (res.status < 400) {
          if (after !== before) accepted++;
          before = after;
        } else if (after !== before) {
          bad.push(`${method} ${url.slice(0, 120)} → ${res.status} changed stored rows`);
          before = after;
        }
      }
    }
    console.log(
      `fuzz: seed ${seed}, ${n} requests in ${seconds} s over ${patterns.length} routes, ${accepted} accepted changes; statuses ${
        JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))
      }`,
    );
    assertEquals(
      bad.slice(0, 20),
      [],
      `5xx answers or refused requests that changed rows (seed ${seed})`,
    );
  } finally {
    await app.close();
  }
});
