/** When things break: the database is down (503), or something unexpected happens (500 + request id). */
import { assert, assertEquals, assertStringIncludes } from "./_helpers/assert.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { openApp } from "./_helpers/app.ts";
import { insertJob } from "./_helpers/factory.ts";
import { createApp } from "../lib/app.ts";
import { parseConfig } from "../lib/config.ts";
import { openPool } from "../lib/db.ts";
import { setLogLevel } from "../lib/log.ts";

Deno.test({
  name: "failures: database down is 503 (readyz too), healthz stays 200",
}, async () => {
  setLogLevel("error");
  const sql = openPool("postgres://postgres@127.0.0.1:1/nowhere", { max: 2 });
  const app = await createApp({ sql, config: parseConfig({ LOG_LEVEL: "error" }) });
  // No database to clone here, so the app is called directly (as tests/_helpers/app.ts does).
  const info = {
    remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 40_000 },
    completed: Promise.resolve(),
  };
  const fetch = async (url: string) => await app.fetch(new Request(url), info);
  const base = "http://127.0.0.1:8000";
  try {
    const res = await fetch(`${base}/api/stats`);
    const body = await bodyJson<{ error: { code: string } }>(res);
    assertEquals([res.status, body.error.code], [503, "database_unavailable"]);
    assertEquals(res.headers.get("retry-after"), "2");
    const ready = await fetch(`${base}/readyz`);
    assertEquals([ready.status, (await bodyJson(ready)).database], [503, "unreachable"]);
    const health = await fetch(`${base}/healthz`);
    assertEquals(health.status, 200);
    await health.body?.cancel();
  } finally {
    await app.close();
    await sql.end({ timeout: 1 });
  }
});

Deno.test({
  name: "failures: an unexpected error is a 500 whose request_id is in the log, without a stack",
}, async () => {
  const s = await openApp();
  const lines: string[] = [];
  const original = console.error;
  try {
    const job = await insertJob(s.db.sql, { type: "report", status: "completed" });
    // Break the schema under the running app: the artifact query now fails in Postgres.
    await s.db.sql`ALTER TABLE job_artifact RENAME TO job_artifact_gone`;
    console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    const res = await s.call(`/api/jobs/${job.id}/artifact`);
    const text = await res.text();
    console.error = original;
    assertEquals(res.status, 500);
    const body = JSON.parse(text) as { error: { code: string; request_id: string } };
    assertEquals(body.error.code, "internal_error");
    assertEquals(res.headers.get("x-request-id"), body.error.request_id);
    assert(/^[0-9a-f-]{36}$/.test(body.error.request_id), text);
    assert(!text.includes("job_artifact") && !text.includes("    at "), "nothing internal leaks");
    const logged = lines.find((l) => l.includes(body.error.request_id));
    assert(logged, `a log line with the request id; got ${lines.join("\n")}`);
    assertStringIncludes(logged, "http.unhandled");
  } finally {
    console.error = original;
    await s.close();
  }
});
