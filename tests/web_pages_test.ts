/**
 * Pages through the in-process harness, parsed with linkedom: each page renders
 * from the database, forms post (303 / 422), cross-site posts are refused,
 * job data is escaped, secure headers are set, and the login gate works.
 */
import { jobs } from "../lib/queue/mod.ts";
import { withApp as withTestApp } from "./_helpers/app.ts";
import type { TestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_helpers/assert.ts";
import { $, $$, expectCount, parse, text } from "./_helpers/html.ts";

const BASE = "http://localhost";
const ORIGIN = { origin: BASE, "sec-fetch-site": "same-origin" };

/** The in-process harness (tests/_helpers/app.ts) on `BASE`, a database per test. */
function withApp(
  fn: (
    ctx: { db: TestDb; fetch: (path: string, init?: RequestInit) => Promise<Response> },
  ) => Promise<void>,
  env: Record<string, string> = {},
) {
  return withTestApp((s) => fn({ db: s.db, fetch: s.call }), env, { base: BASE });
}

function post(
  fields: Record<string, string | string[]>,
  headers: Record<string, string> = ORIGIN,
): RequestInit {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) body.append(k, x);
  return { method: "POST", body, headers, redirect: "manual" };
}

async function html(res: Response) {
  return parse(await res.text());
}

Deno.test("pages: dashboard, list, job, form and workers render from the database", async () => {
  await withApp(async ({ db, fetch }) => {
    const failed = await insertJob(db.sql, {
      status: "failed",
      type: "email",
      error: "SMTP said no",
    });
    await insertJob(db.sql, {
      status: "pending",
      type: "report",
      payload: {
        report_type: "failures",
        format: "csv",
        date_range: { from: "2026-01-01", to: "2026-01-02" },
      },
    });
    await db.sql`INSERT INTO worker (id, host, pid, concurrency) VALUES ('w-1', 'box-1', 42, 4)`;

    const dash = await fetch("/");
    assertEquals(dash.status, 200);
    const d = await html(dash);
    assertEquals(text($(d, '[data-status="failed"] [data-count]')), "1");
    assertEquals(text($(d, '[data-status="pending"] [data-count]')), "1");
    expectCount(d, '[data-live="recent"] tbody tr', 2);
    assertStringIncludes(text($(d, '[data-live="workers"]')), "box-1");
    $(d, '[data-island="TrendChart"] svg');

    const job = await html(await fetch(`/jobs/${failed.id}`));
    assertStringIncludes(text($(job, "h1")), "email job");
    assertStringIncludes(text(job.body), "SMTP said no");
    $(job, '[data-event="created"]');
    $(job, 'form[action$="' + failed.id + '"] input[name="action"][value="retry"]');
    assertEquals(
      $$(job, 'input[name="action"][value="cancel"]').length,
      0,
      "a failed job offers no cancel",
    );

    const w = await html(await fetch("/workers"));
    assertStringIncludes(text($(w, '[data-live="workers"]')), "pid 42");

    const form = await html(await fetch("/jobs/new?type=report"));
    $(form, 'select[name="type"] option[value="report"][selected]');
    $(form, 'input[name="date_range.from"][type="date"]');
    $(form, 'select[name="priority"]');

    assertEquals((await fetch("/jobs/00000000-0000-0000-0000-000000000000")).status, 404);
    const nf = await fetch("/no/such/page");
    assertEquals(nf.status, 404);
    assertStringIncludes(text((await html(nf)).body), "Page not found");
  });
});

Deno.test("pages: /jobs filters, sorts and pages on the server, all in the URL", async () => {
  await withApp(async ({ db, fetch }) => {
    const t0 = Date.parse("2026-01-15T12:00:00Z");
    for (let i = 0; i < 25; i++) {
      await insertJob(db.sql, {
        status: i % 2 ? "failed" : "pending",
        type: i % 3 ? "email" : "notification",
        priority: (i % 5) + 1,
        payload: i % 3
          ? { to: `u${i}@example.com`, subject: `s${i}`, body: "b" }
          : { user_id: `user-${i}`, channel: "sms", message: "m" },
        created_at: new Date(t0 + i * 1000),
      });
    }
    const page1 = await html(await fetch("/jobs?size=10"));
    expectCount(page1, "tbody tr[data-job-id]", 10);
    assertStringIncludes(text($(page1, "[data-range]")), "1–10 of 25");
    assertEquals($(page1, 'a[rel="next"]').getAttribute("href"), "/jobs?size=10&page=2");

    const failedEmail = await html(await fetch("/jobs?status=failed&type=email&size=50"));
    const rows = $$(failedEmail, "tbody tr[data-job-id]");
    assert(rows.length > 0);
    for (const r of rows) {
      assertStringIncludes(text(r), "failed");
      assertStringIncludes(text(r), "email");
    }
    $(failedEmail, 'input[name="status"][value="failed"][checked]');

    const several = await html(await fetch("/jobs?priority=5&priority=1&size=50"));
    for (const r of $$(several, "tbody tr[data-job-id]")) assertMatch(text(r), /P5|P1/);

    const search = await html(await fetch("/jobs?q=user-3"));
    expectCount(search, "tbody tr[data-job-id]", 1);

    const sorted = await html(await fetch("/jobs?sort=priority&order=asc&size=50"));
    const pri = $$(sorted, "tbody tr[data-job-id]").map((r) => Number(/P(\d)/.exec(text(r))![1]));
    assertEquals(pri, [...pri].sort());
    const th = $(sorted, 'th[aria-sort="ascending"] a');
    assertEquals(th.getAttribute("href"), "/jobs?sort=priority&size=50");
  });
});

Deno.test("pages: bulk cancel from the list answers 303 with the outcome", async () => {
  await withApp(async ({ db, fetch }) => {
    const a = await insertJob(db.sql, { status: "pending" });
    const b = await insertJob(db.sql, { status: "pending" });
    const c = await insertJob(db.sql, { status: "completed" });
    const res = await fetch(
      "/jobs",
      post({ action: "cancel", ids: [a.id, b.id, c.id], back: "/jobs?status=pending" }),
    );
    assertEquals(res.status, 303);
    // (and an undo offer for a minute: ?undo=<id>&until=<ms>)
    assertEquals(
      res.headers.get("location")!.replace(/&undo=[0-9a-f-]{36}&until=\d+$/, ""),
      "/jobs?status=pending&bulk=cancel&done=2&skipped=1",
    );
    assertEquals((await jobs.get(db.sql, { id: a.id }))!.status, "cancelled");
    const back = await html(await fetch(res.headers.get("location")!));
    assertStringIncludes(text($(back, "#bulk-result")), "Cancelled 2 jobs; 1 skipped");

    await insertJob(db.sql, { status: "failed" });
    await insertJob(db.sql, { status: "failed" });
    const all = await fetch(
      "/jobs",
      post({ action: "retry", scope: "all", back: "/jobs?status=failed" }),
    );
    assertEquals(
      all.headers.get("location")!.replace(/&undo=[0-9a-f-]{36}&until=\d+$/, ""),
      "/jobs?status=failed&bulk=retry&done=2&skipped=0",
    );
  });
});

Deno.test("forms: a valid job of each type → 303 to its page; invalid → 422 with every field's error", async () => {
  await withApp(async ({ db, fetch }) => {
    const valid: Record<string, Record<string, string>> = {
      email: { to: "ada@example.com", subject: "Hi", body: "Hello" },
      report: {
        report_type: "throughput",
        format: "pdf",
        "date_range.from": "2026-01-01",
        "date_range.to": "2026-01-31",
      },
      notification: { user_id: "u-1", channel: "push", message: "Ping" },
    };
    for (const [type, fields] of Object.entries(valid)) {
      const res = await fetch("/jobs/new", post({ type, priority: "5", ...fields }));
      assertEquals(res.status, 303, type);
      const id = /^\/jobs\/([0-9a-f-]{36})\?done=created$/.exec(res.headers.get("location")!)![1];
      const job = (await jobs.get(db.sql, { id }))!;
      assertEquals([job.type, job.priority, job.status], [type, 5, "pending"]);
      if (type === "report") {
        assertEquals((job.payload as { date_range: unknown }).date_range, {
          from: "2026-01-01",
          to: "2026-01-31",
        });
      }
    }
    const invalid: Record<string, [Record<string, string>, string[]]> = {
      email: [{ to: "nope", subject: "", body: "" }, ["to", "subject", "body"]],
      report: [{
        report_type: "x",
        format: "doc",
        "date_range.from": "2026-02-01",
        "date_range.to": "2026-01-01",
      }, ["report_type", "format", "date_range.to"]],
      notification: [{ user_id: "", channel: "pigeon", message: "" }, [
        "user_id",
        "channel",
        "message",
      ]],
    };
    for (const [type, [fields, names]] of Object.entries(invalid)) {
      const res = await fetch("/jobs/new", post({ type, priority: "3", ...fields }));
      assertEquals(res.status, 422, type);
      const doc = await html(res);
      for (const n of names) {
        $(doc, `[data-error-for="${n}"]`);
        assertEquals($(doc, `[name="${n}"]`).getAttribute("aria-invalid"), "true", n);
      }
      assertEquals(
        ($(doc, `[name="${names[0]}"]`) as HTMLInputElement).getAttribute("value") ??
          fields[names[0]],
        fields[names[0]],
      );
    }
    const badPriority = await html(
      await fetch("/jobs/new", post({ type: "email", priority: "9", ...valid.email })),
    );
    $(badPriority, '[data-error-for="priority"]');
    // Dates PostgreSQL cannot store (year 0000; an offset past ±15:59): 422, not a 500.
    for (const at of ["0000-01-01T00:00", "2026-01-01T00:00:00+23:59"]) {
      const res = await fetch(
        "/jobs/new",
        post({ type: "email", scheduled_for: at, ...valid.email }),
      );
      assertEquals(res.status, 422, at);
      $(await html(res), '[data-error-for="scheduled_for"]');
    }
    const [{ n }] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
    assertEquals(n, 3, "invalid posts created nothing");
  });
});

Deno.test("forms: cross-site posts are refused before anything happens", async () => {
  await withApp(async ({ db, fetch }) => {
    const j = await insertJob(db.sql, { status: "pending" });
    const hostile: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { "sec-fetch-site": "cross-site" },
      // One rule for pages and /api: the Origin is compared with Host, never X-Forwarded-Host.
      { origin: "https://evil.example", "x-forwarded-host": "evil.example" },
    ];
    for (const headers of hostile) {
      assertEquals(
        (await fetch(
          "/jobs/new",
          post({ type: "email", to: "a@b.co", subject: "s", body: "b" }, headers),
        )).status,
        403,
      );
      assertEquals((await fetch(`/jobs/${j.id}`, post({ action: "cancel" }, headers))).status, 403);
      assertEquals(
        (await fetch("/jobs", post({ action: "delete", ids: j.id }, headers))).status,
        403,
      );
    }
    assertEquals((await jobs.get(db.sql, { id: j.id }))!.status, "pending");
  });
});

Deno.test("job page: cancel, retry, clone and delete by form, 409 when the state forbids it", async () => {
  await withApp(async ({ db, fetch }) => {
    const p = await insertJob(db.sql, { status: "pending" });
    const r1 = await fetch(`/jobs/${p.id}`, post({ action: "cancel" }));
    assertEquals([r1.status, r1.headers.get("location")], [303, `/jobs/${p.id}?done=cancelled`]);
    assertEquals((await fetch(`/jobs/${p.id}`, post({ action: "cancel" }))).status, 409);
    const r2 = await fetch(`/jobs/${p.id}`, post({ action: "retry" }));
    assertEquals(r2.status, 303);
    assertEquals((await jobs.get(db.sql, { id: p.id }))!.status, "pending");
    const clone = await fetch(`/jobs/${p.id}`, post({ action: "clone" }));
    assertEquals(clone.headers.get("location"), `/jobs/new?clone=${p.id}`);
    const form = await html(await fetch(clone.headers.get("location")!));
    assertEquals($(form, 'input[name="to"]').getAttribute("value"), "a@example.com");
    const running = await insertJob(db.sql, { status: "processing" });
    assertEquals((await fetch(`/jobs/${running.id}`, post({ action: "delete" }))).status, 409);
    const del = await fetch(`/jobs/${p.id}`, post({ action: "delete" }));
    assertEquals(del.headers.get("location"), `/jobs?deleted=${p.id}`);
    assertEquals(await jobs.get(db.sql, { id: p.id }), null);
  });
});

Deno.test("escaping: a payload and error with <script> and onerror= show as text everywhere", async () => {
  await withApp(async ({ db, fetch }) => {
    const evil = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    const j = await insertJob(db.sql, {
      status: "failed",
      payload: { to: evil, subject: evil, body: evil },
      error: evil,
    });
    for (const path of ["/", "/jobs", `/jobs/${j.id}`, `/jobs/new?clone=${j.id}`]) {
      const doc = await html(await fetch(path));
      assertEquals($$(doc, "img").length, 0, path);
      for (const s of $$(doc, "script")) {
        assert(
          s.getAttribute("type") === "module" || s.getAttribute("type") === "application/json",
          `${path}: stray script ${s.outerHTML}`,
        );
        assert(!(s.textContent ?? "").includes("<"), `${path}: raw < inside a script`);
      }
      if (path.startsWith("/jobs/new")) {
        assertEquals($(doc, 'input[name="to"]').getAttribute("value"), evil);
      } else assertStringIncludes(text(doc.body), "<script>", path);
    }
  });
});

Deno.test("headers: CSP nonce matches the scripts; pages without islands ship no script", async () => {
  await withApp(async ({ fetch }) => {
    const res = await fetch("/jobs");
    const csp = res.headers.get("content-security-policy")!;
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    assertStringIncludes(csp, "frame-ancestors 'none'");
    assertEquals(res.headers.get("x-content-type-options"), "nosniff");
    assertEquals(res.headers.get("referrer-policy"), "strict-origin-when-cross-origin");
    const doc = await html(res);
    const scripts = $$(doc, "script");
    assert(scripts.length >= 1);
    for (const s of scripts) assertEquals(s.getAttribute("nonce"), nonce);
    assertEquals($(doc, "style").getAttribute("nonce"), nonce);
    const modulePath =
      /from"(\/static\/islands\/client-[A-Z0-9]{8}\.js)"/.exec(scripts.at(-1)!.textContent!)![1];
    const js = await fetch(modulePath);
    assertEquals(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
    await js.body?.cancel();

    for (const path of ["/no/such/page", "/jobs/00000000-0000-0000-0000-000000000000"]) {
      const d = await html(await fetch(path));
      assertEquals($$(d, "script").length, 0, path);
    }
  });
  await withApp(async ({ fetch }) => {
    const d = await html(await fetch("/login"));
    assertEquals($$(d, "script").length, 0, "/login");
  }, { DASHBOARD_PASSWORD: "pw-123456" });
});

Deno.test("login: pages need the password; /healthz and static files do not; the cookie is HttpOnly", async () => {
  await withApp(async ({ fetch }) => {
    const r = await fetch("/jobs?status=failed", { redirect: "manual" });
    assertEquals(r.status, 303);
    assertEquals(r.headers.get("location"), "/login?next=%2Fjobs%3Fstatus%3Dfailed");
    assertEquals((await fetch("/static/favicon.svg")).status, 200);
    const health = await fetch("/healthz");
    assert(health.status !== 303, "healthz redirected");
    await health.body?.cancel();

    const wrong = await fetch("/login", post({ password: "nope", next: "/jobs" }));
    assertEquals(wrong.status, 401);
    assertStringIncludes(text((await html(wrong)).body), "not right");

    const ok = await fetch("/login", post({ password: "pw-123456", next: "/jobs?status=failed" }));
    assertEquals([ok.status, ok.headers.get("location")], [303, "/jobs?status=failed"]);
    const cookie = ok.headers.get("set-cookie")!;
    assertMatch(cookie, /^jobq_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax/);
    const session = cookie.split(";")[0];
    const page = await fetch("/jobs", { headers: { cookie: session } });
    assertEquals(page.status, 200);
    $(await html(page), 'form[action="/logout"]');

    const out = await fetch("/logout", {
      method: "POST",
      headers: { ...ORIGIN, cookie: session },
      redirect: "manual",
    });
    assertEquals(out.headers.get("location"), "/login");
    assertMatch(out.headers.get("set-cookie")!, /Max-Age=0/);
    const forged = await fetch("/jobs", {
      headers: { cookie: session.slice(0, -3) + "abc" },
      redirect: "manual",
    });
    assertEquals(forged.status, 303);
  }, { DASHBOARD_PASSWORD: "pw-123456" });
});
