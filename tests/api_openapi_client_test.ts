/**
 * The OpenAPI document tells the truth, checked with tools no one here wrote:
 * `@redocly/cli` lints it (recommended rules), `openapi-typescript` generates a
 * client whose calls of every operation must type-check, and that client
 * (openapi-fetch) drives every operation with valid and invalid requests while
 * `ajv` (JSON Schema 2020-12) checks every body sent and every answer against
 * the document. The served operations come from the route files, so a new
 * route the document lacks fails here.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import formats, { type FormatsPlugin } from "ajv-formats";
import openapiTS, { astToString } from "openapi-typescript";
import { join } from "node:path";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { openApp } from "./_helpers/app.ts";
import { insertJob } from "./_helpers/factory.ts";
import { apiClient, everyOperation, type Expect } from "./_helpers/openapi_calls.ts";
import { alerts, schedules } from "../lib/queue/mod.ts";
import { createAlertBody } from "../lib/alerts/schema.ts";
import { createScheduleBody } from "../lib/schedules/schema.ts";
import { artifacts } from "../lib/queue/mod.ts";
import { discover, load } from "../lib/web/routes.ts";
import { ROOT } from "../lib/web/paths.ts";

type Json = Record<string, unknown>;
type Operation = Json & { operationId: string; parameters?: Json[]; requestBody?: Json };
type Doc = Json & { paths: Record<string, Record<string, Operation>>; components: Json };

const TOKEN = "openapi-test-token";
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
/** Routes that serve the dashboard itself (not the API): its sign-out, scripts and docs assets. */
const DASHBOARD_ONLY = new Set(["/logout", "/static/*", "/docs/assets/:file"]);
/** Lint warnings allowed: the project has chosen no license, so none can name a URL or SPDX id. */
const ALLOWED_WARNINGS = new Set(["info-license-strict"]);

/** `METHOD /openapi/{path}` of every operation the app serves, read from the route files. */
async function servedOperations(): Promise<string[]> {
  const root = join(ROOT, "routes");
  const out: string[] = [];
  for (const f of await discover(root)) {
    if (f.kind !== "route" || DASHBOARD_ONLY.has(f.pattern)) continue;
    const mod = await load(root, f);
    if (mod.default && !f.pattern.startsWith("/api")) continue; // a dashboard page
    const path = f.pattern.replace(/:([A-Za-z_]+)/g, "{$1}");
    const methods = Object.keys(mod.handler ?? {}).filter((m) => METHODS.includes(m));
    if (methods.includes("GET")) methods.push("HEAD");
    for (const m of methods) out.push(`${m} ${path}`);
  }
  return out.sort();
}

function documented(doc: Doc): string[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)
  ).sort();
}

/** Validates values against schemas of the document (its components as `$defs`). */
function validator(doc: Doc) {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  // ajv-formats is CommonJS: its module value is the plugin itself.
  (formats as unknown as FormatsPlugin)(ajv);
  ajv.addFormat("binary", true);
  const rewrite = (v: unknown) =>
    JSON.parse(JSON.stringify(v).replaceAll('"#/components/schemas/', '"#/$defs/'));
  const defs = rewrite(doc.components.schemas);
  const cache = new Map<unknown, ReturnType<typeof ajv.compile>>();
  return (schema: unknown, value: unknown): string | null => {
    let fn = cache.get(schema);
    if (!fn) {
      fn = ajv.compile({ ...rewrite(schema), $defs: defs });
      cache.set(schema, fn);
    }
    return fn(value) ? null : ajv.errorsText(fn.errors);
  };
}

/** The operation a request path and method belong to (static segments win). */
function operationOf(doc: Doc, method: string, pathname: string) {
  const templates = Object.keys(doc.paths).sort((a, b) =>
    a.split("{").length - b.split("{").length
  );
  for (const t of templates) {
    const re = new RegExp("^" + t.replace(/\{[a-z_]+\}/g, "[^/]+") + "$");
    const op = doc.paths[t][method.toLowerCase()];
    if (re.test(pathname) && op) return { template: t, op };
  }
  throw new Error(`no documented operation for ${method} ${pathname}`);
}

/** Problems of a query string against the operation's query parameters (form style). */
function queryProblems(
  check: ReturnType<typeof validator>,
  op: Operation,
  params: URLSearchParams,
): string[] {
  const declared = (op.parameters ?? []).filter((p) => p.in === "query");
  const problems = [...new Set(params.keys())].filter((k) => !declared.some((p) => p.name === k))
    .map((k) => `unknown parameter ${k}`);
  const typed = (s: string, schema: Json) =>
    (schema.type === "integer" && /^-?\d+$/.test(s)) ? Number(s) : s;
  for (const p of declared) {
    const values = params.getAll(p.name as string);
    const schema = p.schema as Json;
    if (values.length === 0) {
      if (p.required) problems.push(`${p.name} is required`);
      continue;
    }
    let value: unknown;
    if (schema.type === "array") {
      const items = p.explode === false
        ? (values.length === 1 ? values[0].split(",") : values)
        : values;
      value = items.map((v) => typed(v, schema.items as Json));
    } else value = values.length === 1 ? typed(values[0], schema) : values;
    const problem = check(schema, value);
    if (problem) problems.push(`${p.name}: ${problem}`);
  }
  return problems;
}

interface Exchange {
  method: string;
  url: URL;
  body: string;
  status: number;
  contentType: string;
  text: string;
}

Deno.test({
  name: "openapi: linted, a generated client type-checks, and it drives every operation truthfully",
}, async (t) => {
  const s = await openApp({ API_TOKEN: TOKEN }, { token: TOKEN });
  const tmp = await Deno.makeTempDir({ prefix: "jobq-openapi-" });
  try {
    const doc = await bodyJson<Doc>(await s.call("/api/openapi.json", { token: "" }));
    const check = validator(doc);
    const docFile = join(tmp, "openapi.json");
    await Deno.writeTextFile(docFile, JSON.stringify(doc, null, 2));

    await t.step(
      "@redocly/cli lint, recommended rules: no errors, no avoidable warning",
      async () => {
        const cli = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).imports[
          "@redocly/cli"
        ];
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", cli, "lint", "--extends=recommended", "--format=json", docFile],
          cwd: ROOT,
          env: { REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        const report = JSON.parse(text.slice(text.indexOf("{"))) as {
          totals: { errors: number; warnings: number };
          problems: { ruleId: string; severity: string; message: string }[];
        };
        const avoidable = report.problems.filter((p) =>
          p.severity === "error" || !ALLOWED_WARNINGS.has(p.ruleId)
        ).map((p) => `${p.severity} ${p.ruleId}: ${p.message}`);
        assertEquals(avoidable, []);
        assertEquals(report.totals.errors, 0);
      },
    );

    await t.step("every operation the routes serve is documented, and only those", async () => {
      assertEquals(documented(doc), await servedOperations());
    });

    await t.step("operationIds are unique camelCase names a client can use", () => {
      const ids = Object.values(doc.paths).flatMap((ops) =>
        Object.values(ops).map((o) => o.operationId)
      );
      for (const id of ids) assert(/^[a-z][a-zA-Z]+$/.test(id ?? ""), `operationId ${id}`);
      assertEquals(new Set(ids).size, ids.length);
      for (const id of ["createJob", "listJobs", "claimJob", "completeJob", "failJob"]) {
        assert(ids.includes(id), `operationId ${id}`);
      }
    });

    await t.step("the client generated by openapi-typescript type-checks every call", async () => {
      const types = astToString(await openapiTS(doc as never));
      await Deno.writeTextFile(join(tmp, "openapi_paths.ts"), types);
      await Deno.copyFile(
        join(ROOT, "tests/_helpers/openapi_calls.ts"),
        join(tmp, "openapi_calls.ts"),
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["check", "--config", join(ROOT, "deno.json"), join(tmp, "openapi_calls.ts")],
        cwd: ROOT,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
    });

    // The steps share the app, the document and this log; each that writes inserts its own jobs
    // and checks only the exchanges it sent, and no answer checked depends on rows it did not make.
    const exchanges: Exchange[] = [];
    const recording = async (input: Request | URL | string, init?: RequestInit) => {
      const req = new Request(input, init);
      const body = req.body ? await req.clone().text() : "";
      const res = await s.fetch(req); // the app in-process; the client only needs a fetch
      const contentType = res.headers.get("content-type") ?? "";
      const text = req.method === "HEAD" || contentType.startsWith("text/event-stream")
        ? ""
        : await res.clone().text();
      exchanges.push({
        method: req.method,
        url: new URL(req.url),
        body,
        status: res.status,
        contentType,
        text,
      });
      return res;
    };
    const verdicts: string[] = [];
    const expect: Expect = (result, status, opts = {}) => {
      const ex = exchanges.at(-1)!;
      const label = `${ex.method} ${ex.url.pathname}${ex.url.search.slice(0, 80)} → ${ex.status}`;
      assertEquals(result.response.status, status, label);
      const { op } = operationOf(doc, ex.method, ex.url.pathname);
      const queryBad = queryProblems(check, op, ex.url.searchParams);
      const queryValid = opts.queryValid ??
        (status < 300 ? true : [400, 422].includes(status) && !ex.body ? false : undefined);
      if (queryValid !== undefined) {
        assertEquals(queryBad.length === 0, queryValid, `${label}: query ${queryBad.join("; ")}`);
      }
      if (ex.body) {
        const media = (op.requestBody?.content as Json | undefined)?.["application/json"] as
          | Json
          | undefined;
        assert(media, `${label}: sent a body the document does not describe`);
        const bodyBad = check(media.schema, JSON.parse(ex.body));
        const bodyValid = opts.bodyValid ??
          (status < 300 ? true : status === 422 && queryBad.length === 0 ? false : undefined);
        if (bodyValid !== undefined) {
          assertEquals(bodyBad === null, bodyValid, `${label}: body ${bodyBad}`);
        }
      }
      verdicts.push(
        `${ex.method} ${operationOf(doc, ex.method, ex.url.pathname).template} ${
          status < 300 ? "valid" : "invalid"
        }`,
      );
    };
    const answerProblems = (ex: Exchange): string | null => {
      const { op } = operationOf(doc, ex.method, ex.url.pathname);
      const responses = op.responses as Record<string, Json>;
      const documentedAnswer = responses[String(ex.status)];
      if (!documentedAnswer) return `status ${ex.status} is not documented`;
      const content = documentedAnswer.content as Record<string, Json> | undefined;
      if (ex.method === "HEAD" || !content) {
        return ex.text === "" ? null : `a body where none is documented`;
      }
      const media = ex.contentType.split(";")[0].trim();
      if (!content[media]) return `content type ${media} is not documented`;
      if (media !== "application/json" || !content[media].schema) return null;
      return check(content[media].schema, JSON.parse(ex.text));
    };

    await t.step(
      "openapi-fetch drives every operation; ajv checks requests and answers",
      async () => {
        const report = await insertJob(s.db.sql, { type: "report", status: "completed" });
        await artifacts.put(s.db.sql, {
          jobId: report.id,
          filename: "r.csv",
          contentType: "text/csv",
          bytes: new TextEncoder().encode("a\n1\n"),
        });
        const client = apiClient(s.base, recording, TOKEN);
        await everyOperation(client, expect, { reportWithFile: report.id });
        for (const ex of exchanges) {
          const problem = answerProblems(ex);
          assertEquals(
            problem,
            null,
            `${ex.method} ${ex.url.pathname}${ex.url.search} → ${ex.status}`,
          );
        }
        for (const o of documented(doc)) {
          assert(verdicts.includes(`${o} valid`), `${o}: no valid request was sent`);
          assert(verdicts.includes(`${o} invalid`), `${o}: no invalid request was sent`);
        }
      },
    );

    await t.step("every request body example is valid and the server takes it", async () => {
      const arrange: Record<string, (example: Json) => Promise<string | undefined>> = {
        cancelJob: async () => (await insertJob(s.db.sql, { status: "pending" })).id,
        retryJob: async () => (await insertJob(s.db.sql, { status: "failed" })).id,
        completeJob: async () =>
          (await insertJob(s.db.sql, { status: "processing", locked_by: "ext-1", attempts: 1 }))
            .id,
        claimJob: async () => void await insertJob(s.db.sql, { status: "pending" }),
      };
      arrange.failJob = arrange.completeJob;
      let n = 0;
      const schedule = async () => {
        const name = `example-${++n}`;
        await schedules.create(s.db.sql, {
          schedule: createScheduleBody.parse({
            name,
            cron: "@daily",
            type: "email",
            payload: { to: "a@example.com", subject: "s", body: "b" },
          }),
        });
        return name;
      };
      arrange.updateSchedule = schedule;
      arrange.deleteSchedule = schedule;
      arrange.runSchedule = schedule;
      const alert = async () =>
        String(
          (await alerts.create(s.db.sql, {
            alert: createAlertBody.parse({ name: `example-${++n}`, kind: "backlog", threshold: 5 }),
            actor: { name: "test", via: "open", address: null },
          })).id,
        );
      // The example names its offer: make that offer (a bulk cancel's undo, nothing to restore).
      arrange.undoBulk = async (example) =>
        void await s.db.sql`INSERT INTO bulk_undo (id, action, actor, expires_at)
          VALUES (${String(example.undo_id)}, 'cancel', 'test', now() + interval '1 minute')`;
      arrange.updateAlert = alert;
      arrange.deleteAlert = alert;
      let seen = 0;
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const media = (op.requestBody?.content as Json | undefined)?.["application/json"] as
            | Json
            | undefined;
          if (!media) continue;
          const examples = Object.entries((media.examples ?? {}) as Record<string, Json>);
          assert(examples.length > 0, `${op.operationId}: no request body example`);
          for (const [name, { value }] of examples) {
            assertEquals(check(media.schema, value), null, `${op.operationId} example ${name}`);
            const id = await arrange[op.operationId]?.(value as Json);
            const url = s.base +
              path.replace("{id}", id ?? "").replace("{name}", id ?? "default");
            const res = await recording(url, {
              method: method.toUpperCase(),
              headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
              body: JSON.stringify(value),
            });
            await res.body?.cancel();
            assert(res.status < 300, `${op.operationId} example ${name} → ${res.status}`);
            assertEquals(answerProblems(exchanges.at(-1)!), null, `${op.operationId} ${name}`);
            seen++;
          }
        }
      }
      assert(seen >= 9, `${seen} examples`);
    });

    await t.step("refusals the drive cannot provoke are documented: 403, 503", () => {
      for (const [path, ops] of Object.entries(doc.paths)) {
        if (!path.startsWith("/api/") || path === "/api/openapi.json") continue;
        for (const [method, op] of Object.entries(ops)) {
          const codes = Object.keys(op.responses as Json);
          assert(codes.includes("503"), `${method} ${path}: 503 database_unavailable`);
          if (["post", "delete"].includes(method)) {
            assert(codes.includes("403"), `${method} ${path}: 403 cross-origin write`);
          }
        }
      }
      const events = doc.paths["/api/events"].get.responses as Record<string, Json>;
      assert(/too_many_streams/.test(String(events["503"].description)), "503 too_many_streams");
    });

    await t.step("rules JSON Schema cannot hold are in the descriptions", () => {
      const text = JSON.stringify(doc);
      for (
        const rule of [/real calendar date/, /from must be on or before to/, /minute at most 48/]
      ) assert(rule.test(text), `no description says ${rule}`);
      const job = (doc.components.schemas as Record<string, Json>).Job;
      assertEquals(
        [...(job.required as string[])].sort(),
        Object.keys(job.properties as Json).sort(),
      );
    });
  } finally {
    await s.close();
    await Deno.remove(tmp, { recursive: true });
  }
});
