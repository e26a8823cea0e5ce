/**
 * `/api/alerts`: create, list, get, change, remove; each kind's required and
 * refused fields as 422s naming the field; 404 for unknown or malformed ids,
 * 409 for a taken name; a refused request changes nothing; every change has
 * its audit row (action, actor, target) written with it. In-process app.
 */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { openApp, type TestApp } from "./_helpers/app.ts";
import { $, $$, parse, text } from "./_helpers/html.ts";
import * as alerts from "../lib/queue/alerts.ts";

type Json = Record<string, unknown>;
type Issues = { error: { code: string; issues?: { path: string; message: string }[] } };

async function tableHash(app: TestApp): Promise<string> {
  const [r] = await app.db.sql<{ a: string | null; n: number }[]>`
    SELECT (SELECT md5(string_agg(a::text, ',' ORDER BY id)) FROM alert a) AS a,
           (SELECT count(*)::int FROM audit) AS n`;
  return JSON.stringify(r);
}

const send = (app: TestApp, method: string, path: string, body?: unknown) =>
  app.call(path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function auditRows(app: TestApp) {
  return await app.db.sql<
    { action: string; actor: string; via: string; target: string; details: Json }[]
  >`
    SELECT action, actor, via, target, details FROM audit ORDER BY id`;
}

const RATE = {
  name: "mail failing",
  kind: "failure_rate",
  queue: "mail",
  threshold: 10,
  window_minutes: 15,
};

Deno.test({
  name: "alerts api",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const app = await openApp({ API_TOKEN: "ops:secret-token-1" }, { token: "secret-token-1" });
    let id = 0;
    try {
      await t.step(
        "POST creates (201, Location, state ok, nulls for the other kinds' fields)",
        async () => {
          const res = await app.post("/api/alerts", RATE);
          assertEquals(res.status, 201);
          const a = await bodyJson<Json>(res);
          id = a.id as number;
          assertEquals(res.headers.get("location"), `/api/alerts/${id}`);
          assertEquals(
            [a.kind, a.queue, a.type, a.threshold, a.window_minutes, a.enabled, a.state],
            [
              "failure_rate",
              "mail",
              null,
              10,
              15,
              true,
              "ok",
            ],
          );
          assertEquals([a.firing_since, a.last_value, a.last_notified_at], [null, null, null]);
          for (
            const body of [
              { name: "backlog", kind: "backlog", type: "report", threshold: 500 },
              { name: "waiting", kind: "oldest_pending", threshold: 300, enabled: false },
              { name: "no mail worker", kind: "no_worker", queue: "mail" },
            ]
          ) {
            const r = await app.post("/api/alerts", body);
            assertEquals(r.status, 201, await r.clone().text());
          }
        },
      );

      await t.step("GET lists them with their state; GET /:id is one", async () => {
        const list = await bodyJson<{ items: Json[] }>(await app.call("/api/alerts"));
        assertEquals(list.items.map((a) => [a.name, a.state]).sort(), [
          ["backlog", "ok"],
          ["mail failing", "ok"],
          ["no mail worker", "ok"],
          ["waiting", "disabled"],
        ]);
        const one = await bodyJson<Json>(await app.call(`/api/alerts/${id}`));
        assertEquals(one.name, "mail failing");
      });

      await t.step(
        "each kind's required and refused fields are 422s naming the field",
        async () => {
          const before = await tableHash(app);
          const cases: [Json, string[]][] = [
            [{ name: "x", kind: "failure_rate", threshold: 10 }, ["window_minutes"]],
            [{ name: "x", kind: "failure_rate", window_minutes: 5 }, ["threshold"]],
            [{ name: "x", kind: "failure_rate", threshold: 100, window_minutes: 5 }, ["threshold"]],
            [{ name: "x", kind: "backlog", threshold: 2.5 }, ["threshold"]],
            [{ name: "x", kind: "backlog", threshold: "10" }, ["threshold"]],
            [{ name: "x", kind: "backlog", threshold: 5, window_minutes: 5 }, ["window_minutes"]],
            [{ name: "x", kind: "oldest_pending", threshold: 0 }, ["threshold"]],
            [{ name: "x", kind: "oldest_pending", threshold: 60, type: "email" }, ["type"]],
            [{ name: "x", kind: "no_worker", threshold: 1 }, ["threshold"]],
            [{ name: "x", kind: "no_worker", queue: "Bad Queue" }, ["queue"]],
            [{ name: "x", kind: "panic" }, ["kind"]],
            [{ name: "", kind: "no_worker" }, ["name"]],
            [{ name: "x", kind: "no_worker", colour: "red" }, [""]],
            [{ kind: "backlog", type: "sms", threshold: -1 }, ["name", "type", "threshold"]],
          ];
          for (const [body, paths] of cases) {
            const res = await app.post("/api/alerts", body);
            const err = await bodyJson<Issues>(res);
            assertEquals(res.status, 422, JSON.stringify(body));
            const got = err.error.issues!.map((i) => i.path);
            for (const p of paths) assert(got.includes(p), `${JSON.stringify(body)}: ${got}`);
          }
          const patches: [Json, string][] = [
            [{ threshold: null }, "threshold"],
            [{ kind: "no_worker" }, "threshold"],
            [{ enabled: "no" }, "enabled"],
            [{ window_minutes: 0 }, "window_minutes"],
            [{ id: 7 }, ""],
          ];
          for (const [body, path] of patches) {
            const res = await send(app, "PATCH", `/api/alerts/${id}`, body);
            const err = await bodyJson<Issues>(res);
            assertEquals(res.status, 422, JSON.stringify(body));
            assert(err.error.issues!.some((i) => i.path === path), JSON.stringify(err));
          }
          assertEquals(await tableHash(app), before, "nothing changed");
        },
      );

      await t.step(
        "404 for unknown and malformed ids, 409 for a taken name; nothing changes",
        async () => {
          const before = await tableHash(app);
          for (
            const path of [
              "/api/alerts/999",
              "/api/alerts/abc",
              "/api/alerts/0",
              "/api/alerts/99999999999",
            ]
          ) {
            for (const method of ["GET", "PATCH", "DELETE"]) {
              const res = await send(
                app,
                method,
                path,
                method === "PATCH" ? { enabled: false } : undefined,
              );
              assertEquals(res.status, 404, `${method} ${path}`);
              assertEquals((await bodyJson<Issues>(res)).error.code, "alert_not_found");
            }
          }
          const dup = await app.post("/api/alerts", { name: "backlog", kind: "no_worker" });
          assertEquals([dup.status, (await bodyJson<Issues>(dup)).error.code], [
            409,
            "alert_exists",
          ]);
          const rename = await send(app, "PATCH", `/api/alerts/${id}`, { name: "backlog" });
          assertEquals([rename.status, (await bodyJson<Issues>(rename)).error.code], [
            409,
            "alert_exists",
          ]);
          assertEquals(await tableHash(app), before, "nothing changed");
        },
      );

      await t.step(
        "PATCH changes it, validated whole; disabling shows state disabled",
        async () => {
          let res = await send(app, "PATCH", `/api/alerts/${id}`, {
            threshold: 25.5,
            type: "email",
          });
          assertEquals(res.status, 200);
          let a = await bodyJson<Json>(res);
          assertEquals([a.threshold, a.type, a.window_minutes, a.queue], [
            25.5,
            "email",
            15,
            "mail",
          ]);
          res = await send(app, "PATCH", `/api/alerts/${id}`, {
            kind: "no_worker",
            threshold: null,
            window_minutes: null,
            type: null,
          });
          a = await bodyJson<Json>(res);
          assertEquals([res.status, a.kind, a.threshold, a.window_minutes], [
            200,
            "no_worker",
            null,
            null,
          ]);
          res = await send(app, "PATCH", `/api/alerts/${id}`, { enabled: false });
          assertEquals((await bodyJson<Json>(res)).state, "disabled");
        },
      );

      await t.step("DELETE removes it (an empty body is allowed)", async () => {
        const res = await send(app, "DELETE", `/api/alerts/${id}`);
        assertEquals([res.status, (await bodyJson<Json>(res)).id], [200, id]);
        assertEquals((await app.call(`/api/alerts/${id}`)).status, 404);
      });

      await t.step(
        "every change has its audit row: action, the token's name, the alert's name",
        async () => {
          const rows = await auditRows(app);
          assertEquals(rows.map((r) => [r.action, r.actor, r.via, r.target]), [
            ["alert.create", "ops", "token", "mail failing"],
            ["alert.create", "ops", "token", "backlog"],
            ["alert.create", "ops", "token", "waiting"],
            ["alert.create", "ops", "token", "no mail worker"],
            ["alert.update", "ops", "token", "mail failing"],
            ["alert.update", "ops", "token", "mail failing"],
            ["alert.update", "ops", "token", "mail failing"],
            ["alert.delete", "ops", "token", "mail failing"],
          ]);
          assertEquals(rows[0].details, {
            id,
            name: "mail failing",
            kind: "failure_rate",
            queue: "mail",
            type: null,
            threshold: 10,
            window_minutes: 15,
            enabled: true,
          });
          assertEquals(rows[4].details, {
            id,
            change: { threshold: 25.5, type: "email" },
            before: { threshold: 10, type: null },
          });
        },
      );

      await t.step(
        "an action and its audit row commit together: a failed audit write undoes it",
        async () => {
          await app.db
            .sql`ALTER TABLE audit ADD CONSTRAINT no_more CHECK (action <> 'alert.create') NOT VALID`;
          try {
            const before = await tableHash(app);
            const res = await app.post("/api/alerts", { name: "lost", kind: "no_worker" });
            assertEquals(res.status, 500);
            assertEquals(await tableHash(app), before);
          } finally {
            await app.db.sql`ALTER TABLE audit DROP CONSTRAINT no_more`;
          }
        },
      );

      await t.step(
        "the /alerts page: create, 422 naming the field, disable, delete — 303s, audited",
        async () => {
          const SAME = { origin: "http://127.0.0.1:8000", "sec-fetch-site": "same-origin" };
          const form = (fields: Record<string, string>, headers: Record<string, string> = SAME) =>
            app.call("/alerts", {
              method: "POST",
              body: new URLSearchParams(fields),
              headers,
              redirect: "manual",
            });
          let res = await form({
            action: "create",
            name: "page rule",
            kind: "backlog",
            queue: "mail",
            type: "email",
            threshold: "100",
            window_minutes: "15", // not a backlog field: left out, not refused
          });
          assertEquals(res.status, 303);
          assertEquals(res.headers.get("location"), "/alerts?done=created&name=page%20rule");
          const doc = parse(await (await app.call(res.headers.get("location")!)).text());
          assert($(doc, 'nav a[href="/alerts"]'));
          const row = $$(doc, "tr[data-alert]").find((r) =>
            text($(r, "[data-name]")) === "page rule"
          )!;
          assertEquals(text($(row, "[data-alert-state]")), "ok");
          const id = Number(row.getAttribute("data-alert"));
          const made = (await alerts.get(app.db.sql, { id }))!;
          assertEquals([made.kind, made.queue, made.type, made.threshold, made.window_minutes], [
            "backlog",
            "mail",
            "email",
            100,
            null,
          ]);

          const before = await tableHash(app);
          res = await form({
            action: "create",
            name: "bad",
            kind: "oldest_pending",
            threshold: "soon",
          });
          assertEquals(res.status, 422);
          const bad = parse(await res.text());
          assert(/must be a number/.test(text($(bad, '[data-error="threshold"]'))));
          assertEquals($(bad, "#f-threshold").getAttribute("aria-invalid"), "true");
          assertEquals($(bad, "#f-name").getAttribute("value"), "bad");
          res = await form({ action: "create", name: "page rule", kind: "no_worker" });
          assertEquals(res.status, 409);
          res = await form({ action: "delete", id: String(id) }, {
            origin: "https://evil.example",
            "sec-fetch-site": "cross-site",
          });
          assertEquals(res.status, 403);
          assertEquals(await tableHash(app), before, "refused forms change nothing");

          res = await form({ action: "disable", id: String(id) });
          assertEquals([res.status, (await alerts.get(app.db.sql, { id }))!.state], [
            303,
            "disabled",
          ]);
          res = await form({ action: "delete", id: String(id) });
          assertEquals([res.status, await alerts.get(app.db.sql, { id })], [303, null]);
          const rows = (await auditRows(app)).slice(-3);
          assertEquals(rows.map((r) => [r.action, r.actor, r.via, r.target]), [
            ["alert.create", "anonymous", "open", "page rule"],
            ["alert.update", "anonymous", "open", "page rule"],
            ["alert.delete", "anonymous", "open", "page rule"],
          ]);
        },
      );

      await t.step("the dashboard shows a firing rule in a banner linking to /alerts", async () => {
        let doc = parse(await (await app.call("/")).text());
        assertEquals($$(doc, "[data-firing]").length, 0);
        await app.post("/api/alerts", { name: "nobody on mail", kind: "no_worker", queue: "mail" });
        await alerts.evaluate(app.db.sql);
        doc = parse(await (await app.call("/")).text());
        const banner = $(doc, '[data-live="alerts"] [data-firing]');
        // "no mail worker" (created above) fires too.
        assert(/2 alerts firing/.test(text(banner)), text(banner));
        assert(/nobody on mail/.test(text(banner)));
        assert($(banner, 'a[href="/alerts"]'));
        assert($(banner, 'a[href="/jobs?status=pending&queue=mail"]'));
      });
    } finally {
      await app.close();
    }
  },
});
