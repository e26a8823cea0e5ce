/** The OpenAPI 3.1 document: complete, consistent, and true to the answers; /docs works offline. */
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { openApp } from "./_helpers/app.ts";
import { insertJob } from "./_helpers/factory.ts";
import { discover } from "../lib/web/routes.ts";
import * as schemas from "../lib/api_schemas.ts";
import { bulkResponse } from "../lib/bulk_schemas.ts";
import { ROOT } from "../lib/web/paths.ts";
import { join } from "node:path";

/** The API table of DESIGN.md (and the issue), as method + OpenAPI path. */
const TABLE = [
  "post /api/jobs",
  "post /api/jobs/batch",
  "get /api/jobs",
  "get /api/jobs/{id}",
  "delete /api/jobs/{id}",
  "post /api/jobs/{id}/retry",
  "post /api/jobs/bulk",
  "get /api/jobs/{id}/artifact",
  "post /api/process",
  "post /api/complete/{id}",
  "post /api/fail/{id}",
  "get /api/stats",
  "get /api/stats/trend",
  "get /api/events",
  "get /api/schedules",
  "post /api/schedules",
  "get /api/schedules/{name}",
  "patch /api/schedules/{name}",
  "delete /api/schedules/{name}",
  "post /api/schedules/{name}/run",
  "get /api/openapi.json",
  "get /docs",
  "get /healthz",
  "get /readyz",
  "get /metrics",
];

type Json = Record<string, unknown>;

function pointer(doc: unknown, ref: string): unknown {
  assert(ref.startsWith("#/"), `only local refs: ${ref}`);
  let at: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (at === null || typeof at !== "object" || !(key in (at as Json))) return undefined;
    at = (at as Json)[key];
  }
  return at;
}

function refs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => refs(x, out));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (k === "$ref" && typeof x === "string") out.push(x);
      else refs(x, out);
    }
  }
  return out;
}

Deno.test({
  name: "openapi: 3.1, every route of the table, every $ref resolves, schemas match answers",
}, async (t) => {
  const s = await openApp({ API_TOKEN: "secret-token" }, { token: "secret-token" });
  try {
    const res = await s.call("/api/openapi.json", { token: "" });
    assertEquals(res.status, 200);
    const doc = await bodyJson<Json & { paths: Record<string, Record<string, Json>> }>(res);
    // The steps share the document (read only); the one that writes inserts its own job.

    await t.step("it is OpenAPI 3.1 with info and a bearer scheme", () => {
      assertMatch(doc.openapi as string, /^3\.1\.\d+$/);
      const info = doc.info as Json;
      assert(typeof info.title === "string" && typeof info.version === "string");
      const schemes = (doc.components as Json).securitySchemes as Json;
      assertEquals((schemes.bearerAuth as Json).scheme, "bearer");
    });

    await t.step("every route of the API table is listed", () => {
      const listed = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m} ${path}`)
      );
      for (const route of TABLE) assert(listed.includes(route), `missing ${route}`);
    });

    await t.step("every /api route file is documented (no drift)", async () => {
      const files = await discover(join(ROOT, "routes"));
      for (const f of files.filter((x) => x.kind === "route" && x.pattern.startsWith("/api"))) {
        const path = f.pattern.replace(/:([A-Za-z_]+)/g, "{$1}");
        assert(doc.paths[path], `routes/${f.file} (${path}) is not in the document`);
      }
    });

    await t.step("every $ref resolves", () => {
      const all = refs(doc);
      assert(all.length > 20, `${all.length} refs`);
      for (const ref of all) assert(pointer(doc, ref) !== undefined, `unresolved ${ref}`);
    });

    await t.step("operations are well formed", () => {
      for (const [path, ops] of Object.entries(doc.paths)) {
        const templated = [...path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]);
        for (const [method, op] of Object.entries(ops)) {
          assert(["get", "head", "post", "put", "patch", "delete"].includes(method), method);
          const responses = op.responses as Record<string, Json>;
          assert(responses && Object.keys(responses).length > 0, `${method} ${path}: responses`);
          for (const [code, r] of Object.entries(responses)) {
            assertMatch(code, /^[1-5]\d\d$/);
            assert(typeof r.description === "string", `${method} ${path} ${code}: description`);
          }
          const params = (op.parameters ?? []) as Json[];
          for (const name of templated) {
            assert(
              params.some((p) => p.in === "path" && p.name === name && p.required === true),
              `${method} ${path}: path parameter ${name}`,
            );
          }
        }
      }
      assertEquals((doc.paths["/api/openapi.json"].get.security as unknown[]).length, 0);
    });

    await t.step("the documented schemas describe the real answers", async () => {
      const job = await insertJob(s.db.sql, { status: "failed" });
      schemas.jobPageResponse.parse(await bodyJson(await s.call("/api/jobs")));
      const one = await bodyJson(await s.call(`/api/jobs/${job.id}`));
      schemas.jobResponse.extend({ events: schemas.jobEventResponse.array() }).parse(one);
      schemas.statsResponse.parse(await bodyJson(await s.call("/api/stats")));
      schemas.trendResponse.parse(await bodyJson(await s.call("/api/stats/trend")));
      bulkResponse.parse(
        await bodyJson(await s.post("/api/jobs/bulk", { action: "retry", ids: [job.id] })),
      );
      schemas.errorResponse.parse(await bodyJson(await s.call("/api/jobs/nope")));
    });

    await t.step("/docs and its assets are served by the app", async () => {
      const page = await s.call("/docs");
      const html = await page.text();
      assertEquals(page.status, 200);
      assertMatch(page.headers.get("content-security-policy")!, /script-src 'self'/);
      const assets = [...html.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((m) => m[1]);
      assert(assets.length >= 4, `assets: ${assets}`);
      for (const a of assets) {
        const r = await s.call(a);
        assertEquals(r.status, 200, a);
        assert((await r.arrayBuffer()).byteLength > 0, a);
      }
      const init = await (await s.call("/docs/assets/init.js")).text();
      assertMatch(init, /\/api\/openapi\.json/);
      const bundle = await s.call("/docs/assets/swagger-ui-bundle.js");
      await bundle.body?.cancel();
      const again = await s.call("/docs/assets/swagger-ui-bundle.js", {
        headers: { "if-none-match": bundle.headers.get("etag")! },
      });
      assertEquals(again.status, 304);
      const missing = await s.call("/docs/assets/..%2Fpackage.json");
      assertEquals(missing.status, 404);
      await missing.body?.cancel();
    });
  } finally {
    await s.close();
  }
});
