/**
 * `/api/schedules`: create, list, get, change, remove, run now; every field's
 * error at once; 404 for unknown names, 409 for a taken name or a file
 * schedule's fields; a refused request changes nothing. In-process app.
 */
import { assertEquals, assertMatch } from "./_helpers/assert.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { openApp, type TestApp } from "./_helpers/app.ts";
import { applyFile } from "../lib/queue/schedules.ts";
import { createScheduleBody } from "../lib/schedules/schema.ts";

type Json = Record<string, unknown>;
const EMAIL = { to: "ops@example.com", subject: "Daily", body: "hello" };
const daily = { name: "daily-mail", cron: "0 7 * * *", type: "email", payload: EMAIL };

async function tableHash(app: TestApp): Promise<string> {
  const [r] = await app.db.sql<{ s: string | null; j: number }[]>`
    SELECT (SELECT md5(string_agg(s::text, ',' ORDER BY name)) FROM schedule s) AS s,
           (SELECT count(*)::int FROM job) AS j`;
  return JSON.stringify(r);
}

const patch = (app: TestApp, path: string, body: unknown) =>
  app.call(path, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

Deno.test({
  name: "schedules api",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const app = await openApp();
    try {
      await t.step("POST creates (201, Location, next_run_at in UTC by default)", async () => {
        const res = await app.post("/api/schedules", daily);
        assertEquals(res.status, 201);
        assertEquals(res.headers.get("location"), "/api/schedules/daily-mail");
        const s = await bodyJson(res);
        assertEquals([s.timezone, s.enabled, s.source, s.priority, s.queue], [
          "UTC",
          true,
          "api",
          3,
          null,
        ]);
        assertMatch(String(s.next_run_at), /T07:00:00(\.000)?Z$/);
        assertEquals([s.last_run_at, s.last_job_id], [null, null]);
      });

      await t.step("POST of a taken name is 409 and changes nothing", async () => {
        const before = await tableHash(app);
        const res = await app.post("/api/schedules", { ...daily, cron: "@hourly" });
        assertEquals(res.status, 409);
        assertEquals((await bodyJson<{ error: Json }>(res)).error.code, "schedule_exists");
        assertEquals(await tableHash(app), before);
      });

      await t.step(
        "POST with bad fields: 422 naming every field, payload.<field> too",
        async () => {
          const before = await tableHash(app);
          const res = await app.post("/api/schedules", {
            name: "Bad Name",
            cron: "*/5 * * * * *",
            timezone: "Mars/Olympus",
            type: "email",
            payload: { to: "not-an-email", subject: "x" },
            priority: "3",
            queue: "Has Spaces",
            extra: true,
          });
          assertEquals(res.status, 422);
          const { error } = await bodyJson<{ error: { code: string; issues: Json[] } }>(res);
          assertEquals(error.code, "validation_failed");
          const paths = error.issues.map((i) => i.path).sort();
          assertEquals(paths, [
            "",
            "cron",
            "name",
            "payload.body",
            "payload.to",
            "priority",
            "queue",
            "timezone",
          ]);
          assertEquals(await tableHash(app), before);
        },
      );

      await t.step("cron: nicknames pass, @reboot and nonsense do not", async () => {
        for (const cron of ["@hourly", "@daily", "@weekly", "@monthly", "@yearly"]) {
          const res = await app.post("/api/schedules", {
            ...daily,
            name: `n-${cron.slice(1)}`,
            cron,
          });
          assertEquals(res.status, 201, cron);
        }
        for (const cron of ["@reboot", "61 * * * *", "* * * *", "* * 31 2 *", ""]) {
          const res = await app.post("/api/schedules", { ...daily, name: "nope", cron });
          assertEquals(res.status, 422, cron);
          const { error } = await bodyJson<{ error: { issues: Json[] } }>(res);
          assertEquals(error.issues.map((i) => i.path), ["cron"], cron);
        }
      });

      await t.step("GET lists and gets; unknown names are 404", async () => {
        const list = await bodyJson<{ items: Json[] }>(await app.call("/api/schedules"));
        assertEquals(list.items.map((s) => s.name).includes("daily-mail"), true);
        const one = await bodyJson(await app.call("/api/schedules/daily-mail"));
        assertEquals(one.cron, "0 7 * * *");
        for (
          const path of ["/api/schedules/nope", "/api/schedules/NOPE", "/api/schedules/nope/run"]
        ) {
          const res = path.endsWith("/run") ? await app.post(path, {}) : await app.call(path);
          assertEquals(res.status, 404, path);
          assertEquals((await bodyJson<{ error: Json }>(res)).error.code, "schedule_not_found");
        }
      });

      await t.step(
        "PATCH changes; disabling clears next_run_at; payload checked vs the type",
        async () => {
          let res = await patch(app, "/api/schedules/daily-mail", {
            cron: "30 6 * * *",
            timezone: "Europe/Berlin",
            priority: 5,
            queue: "mail",
          });
          assertEquals(res.status, 200);
          let s = await bodyJson(res);
          assertEquals([s.cron, s.timezone, s.priority, s.queue], [
            "30 6 * * *",
            "Europe/Berlin",
            5,
            "mail",
          ]);
          assertMatch(String(s.next_run_at), /T0[45]:30:00(\.000)?Z$/);
          res = await patch(app, "/api/schedules/daily-mail", { enabled: false });
          s = await bodyJson(res);
          assertEquals([s.enabled, s.next_run_at], [false, null]);
          const before = await tableHash(app);
          // The email payload does not fit a report.
          res = await patch(app, "/api/schedules/daily-mail", { type: "report" });
          assertEquals(res.status, 422);
          const { error } = await bodyJson<{ error: { issues: Json[] } }>(res);
          assertEquals(error.issues.some((i) => i.path === "payload.report_type"), true);
          assertEquals(error.issues.every((i) => String(i.path).startsWith("payload")), true);
          res = await patch(app, "/api/schedules/daily-mail", { name: "renamed", enabled: "yes" });
          assertEquals(res.status, 422);
          assertEquals(await tableHash(app), before);
          res = await patch(app, "/api/schedules/nope", { enabled: true });
          assertEquals(res.status, 404);
          res = await patch(app, "/api/schedules/daily-mail", { enabled: true });
          assertEquals((await bodyJson(res)).enabled, true);
        },
      );

      await t.step("run now: 201 with the job; next_run_at and last_run_at stay", async () => {
        const before = await bodyJson(await app.call("/api/schedules/daily-mail"));
        const res = await app.post("/api/schedules/daily-mail/run", {});
        assertEquals(res.status, 201);
        const job = await bodyJson(res);
        assertEquals([job.type, job.status, job.priority, job.queue], [
          "email",
          "pending",
          5,
          "mail",
        ]);
        assertEquals(job.payload, EMAIL);
        assertEquals(res.headers.get("location"), `/api/jobs/${job.id}`);
        const after = await bodyJson(await app.call("/api/schedules/daily-mail"));
        assertEquals([after.next_run_at, after.last_run_at], [
          before.next_run_at,
          before.last_run_at,
        ]);
        assertEquals(after.last_job_id, job.id);
        const bad = await app.post("/api/schedules/daily-mail/run", { now: true });
        assertEquals(bad.status, 422);
      });

      await t.step("a file schedule: enabled may change, nothing else; no DELETE", async () => {
        await applyFile(app.db.sql, {
          schedules: [createScheduleBody.parse({ ...daily, name: "from-file", cron: "@daily" })],
        });
        let res = await patch(app, "/api/schedules/from-file", { enabled: false });
        assertEquals(res.status, 200);
        const before = await tableHash(app);
        res = await patch(app, "/api/schedules/from-file", { cron: "@hourly" });
        assertEquals(res.status, 409);
        assertEquals((await bodyJson<{ error: Json }>(res)).error.code, "schedule_from_file");
        res = await app.call("/api/schedules/from-file", { method: "DELETE" });
        assertEquals(res.status, 409);
        assertEquals(await tableHash(app), before);
        res = await app.post("/api/schedules/from-file/run", {});
        assertEquals(res.status, 201);
      });

      await t.step("DELETE removes (its jobs stay); again is 404", async () => {
        const [{ n }] = await app.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
        let res = await app.call("/api/schedules/daily-mail", { method: "DELETE" });
        assertEquals(res.status, 200);
        assertEquals((await bodyJson(res)).name, "daily-mail");
        res = await app.call("/api/schedules/daily-mail", { method: "DELETE" });
        assertEquals(res.status, 404);
        const [{ m }] = await app.db.sql<{ m: number }[]>`SELECT count(*)::int AS m FROM job`;
        assertEquals(m, n);
      });
    } finally {
      await app.close();
    }
  },
});
