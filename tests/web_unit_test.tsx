/** Unit tests of the web layer: routes, island props, escaping, rendering, static files, helpers. */
import type { ComponentType } from "preact";
import { renderToString } from "preact-render-to-string";
import { Signal, signal } from "@preact/signals";
import { Hono } from "hono";
import { mountRoutes } from "fresh";
import { patternOf, specificity } from "../lib/web/routes.ts";
import { deserializeProps, IslandPropsError, serializeProps } from "../lib/web/serial.ts";
import { registerIsland } from "../lib/web/islands.ts";
import { renderPage } from "../lib/web/render.tsx";
import { classTokens, extractCss } from "../lib/web/twind.ts";
import { isHashed, serveStatic } from "../lib/web/static.ts";
import { page } from "fresh";
import { JsonTree } from "../components/JsonTree.tsx";
import { jobsSearch, parseJobsQuery } from "../components/jobs_query.ts";
import { errorsByField, formToJob, payloadToValues, validateForm } from "../components/job_form.ts";
import { duration, relativeTime } from "../components/format.ts";
import { crossSite } from "../lib/http/same_origin.ts";
import { sameOriginPath as safeNext } from "../lib/web/context.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_helpers/assert.ts";
import { $, $$, parse, text } from "./_helpers/html.ts";

Deno.test("routes: file paths become Hono patterns, groups add no segment", () => {
  assertEquals(patternOf("index.tsx"), "/");
  assertEquals(patternOf("jobs/index.tsx"), "/jobs");
  assertEquals(patternOf("jobs/[id].tsx"), "/jobs/:id");
  assertEquals(patternOf("jobs/new.tsx"), "/jobs/new");
  assertEquals(patternOf("(admin)/workers.tsx"), "/workers");
  assertEquals(patternOf("static/[...path].ts"), "/static/*");
  assert(specificity("/jobs/new") < specificity("/jobs/:id"));
  assert(specificity("/jobs/:id") < specificity("/static/*"));
});

Deno.test("routes: /jobs/new wins over /jobs/:id, whatever the file order", async () => {
  const app = new Hono<{ Variables: { state: Record<string, never> } }>();
  await mountRoutes(app, {
    modules: {
      "jobs/[id].tsx": {
        handler: {
          GET: (c: { params: Record<string, string> }) => new Response("id:" + c.params.id),
        },
      },
      "jobs/new.tsx": { handler: { GET: () => new Response("new") } },
    },
    state: () => ({}),
  });
  assertEquals(await (await app.fetch(new Request("http://x/jobs/new"))).text(), "new");
  assertEquals(await (await app.fetch(new Request("http://x/jobs/abc"))).text(), "id:abc");
  assertEquals((await app.fetch(new Request("http://x/jobs/abc", { method: "POST" }))).status, 405);
});

Deno.test("island props: Date, URL, Map, Set, undefined, signals and tagged keys survive", () => {
  const props = {
    at: new Date("2026-01-15T12:00:00Z"),
    url: new URL("http://x/a?b=1"),
    map: new Map([["a", 1]]),
    set: new Set([1, 2]),
    none: undefined,
    big: 10n,
    inf: Infinity,
    sig: signal(3),
    tricky: { $t: "Date", v: "not a date" },
    nested: [{ a: [null, true, "s"] }],
  };
  const back = deserializeProps(serializeProps("X", props));
  assertEquals((back.at as Date).toISOString(), "2026-01-15T12:00:00.000Z");
  assertEquals((back.url as URL).href, "http://x/a?b=1");
  assertEquals([...(back.map as Map<string, number>)], [["a", 1]]);
  assertEquals([...(back.set as Set<number>)], [1, 2]);
  assert("none" in back && back.none === undefined);
  assertEquals(back.big, 10n);
  assertEquals(back.inf, Infinity);
  assert(back.sig instanceof Signal && back.sig.value === 3);
  assertEquals(back.tricky, { $t: "Date", v: "not a date" });
  assertEquals(back.nested, [{ a: [null, true, "s"] }]);
});

Deno.test("island props: functions, class instances, JSX and cycles are refused, naming island and path", () => {
  const refuse = (props: Record<string, unknown>, part: string) => {
    try {
      serializeProps("Chart", props);
    } catch (err) {
      assert(err instanceof IslandPropsError);
      assertStringIncludes(err.message, "island Chart");
      assertStringIncludes(err.message, part);
      return;
    }
    throw new Error("expected an IslandPropsError");
  };
  refuse({ onClick: () => {} }, "props.onClick is a function");
  refuse(
    { deep: { list: [1, new (class Thing {})()] } },
    "props.deep.list[1] is an instance of Thing",
  );
  refuse({ el: <b>hi</b> }, "props.el is JSX");
  refuse({ children: <b>hi</b> }, "children");
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  refuse({ cyc }, "cycle");
});

Deno.test("island props: text that closes the script element is escaped", () => {
  const s = serializeProps("X", { s: "</script><script>alert(1)</script>\u2028" });
  assert(!s.includes("<"), s);
  assertEquals(deserializeProps(s).s, "</script><script>alert(1)</script>\u2028");
});

function Counter({ n }: { n: number }) {
  return <button type="button">count {n}</button>;
}
registerIsland("Counter", Counter);

Deno.test("render: an island renders real server HTML inside its marker; the CSS carries the nonce", async () => {
  const App = ({ Component }: { Component: ComponentType }) => (
    <html>
      <head></head>
      <body>
        <Component />
      </body>
    </html>
  );
  const res = await renderPage({
    page: () => (
      <main class="p-4">
        <Counter n={2} />
      </main>
    ),
    wrappers: [App as never],
    props: { data: null, url: new URL("http://x/"), params: {}, state: { nonce: "abc123" } },
  });
  return await res.text().then((html) => {
    const doc = parse(html);
    const marker = $(doc, '[data-island="Counter"]');
    assertEquals(text(marker), "count 2");
    assertStringIncludes($(doc, "style").textContent ?? "", ".p-4{");
    assertEquals($(doc, "style").getAttribute("nonce"), "abc123");
  });
});

Deno.test("render: a page without islands carries no script at all", async () => {
  const res = await renderPage({
    page: () => <p class="text-sm">plain</p>,
    wrappers: [
      (({ Component }: { Component: ComponentType }) => (
        <html>
          <head></head>
          <body>
            <Component />
          </body>
        </html>
      )) as never,
    ],
    props: { data: null, url: new URL("http://x/"), params: {}, state: { nonce: "n" } },
  });
  const html = await res.text();
  assertEquals($$(parse(html), "script").length, 0);
  assert(!html.includes("modulepreload"));
});

Deno.test("escaping: job data with markup renders as text in the JSON tree", () => {
  const html = renderToString(
    <JsonTree value={{ to: "<script>alert(1)</script>", x: '<img src=x onerror="alert(1)">' }} />,
  );
  assert(!html.includes("<script>"), html);
  assert(!html.includes("<img"), html);
  assertStringIncludes(html, "&lt;script>alert(1)&lt;/script>");
  const doc = parse(`<!DOCTYPE html><html><body>${html}</body></html>`);
  assertEquals($$(doc, "script, img").length, 0);
  assertStringIncludes(text(doc.body), '"<img src=x onerror="alert(1)">"');
});

Deno.test("escaping: long strings are folded behind their start", () => {
  const html = renderToString(<JsonTree value={{ body: "x".repeat(500) }} />);
  const doc = parse(`<!DOCTYPE html><html><body>${html}</body></html>`);
  assertStringIncludes(text($(doc, "details[data-fold] summary")), "+340 chars");
});

Deno.test("twind: per-page CSS holds the used classes, dark variants and the theme", () => {
  const css = extractCss(
    '<div class="bg-card text-muted-foreground md:grid dark:bg-red-900/40"></div>',
  );
  assertStringIncludes(css, ".bg-card{");
  assertStringIncludes(css, "@media (min-width:768px){.md\\:grid{display:grid}}");
  assertStringIncludes(css, "prefers-color-scheme");
  assert(
    !extractCss('<div class="p-4"></div>').includes(".bg-card"),
    "the sheet leaks between pages",
  );
  assert(
    classTokens('const a = "px-2 hover:bg-muted"; const b = `w-full`;').includes("hover:bg-muted"),
  );
});

Deno.test("static: ETag with 304, immutable caching only for hashed names, no escape from the folder", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/app-ABCD1234.js`, "export{}");
  await Deno.writeTextFile(`${dir}/logo.svg`, "<svg/>");
  const get = (p: string, h: HeadersInit = {}) =>
    serveStatic(new Request("http://x/static/" + p, { headers: h }), p, dir);
  const hashed = (await get("app-ABCD1234.js"))!;
  assertEquals(hashed.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assertEquals(hashed.headers.get("content-type"), "text/javascript; charset=utf-8");
  const plain = (await get("logo.svg"))!;
  assertMatch(plain.headers.get("cache-control")!, /must-revalidate/);
  const again = (await get("logo.svg", { "if-none-match": plain.headers.get("etag")! }))!;
  assertEquals(again.status, 304);
  await Promise.all([hashed.body?.cancel(), plain.body?.cancel()]);
  assertEquals(await get("../etc/passwd"), null);
  assertEquals(await get("%2e%2e/x"), null);
  assertEquals(await get(".hidden"), null);
  assert(isHashed("chunk-QAPAVIHP.js") && !isHashed("favicon.svg"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("jobs query: parsed forgivingly, written back without defaults", () => {
  const q = parseJobsQuery(
    new URLSearchParams(
      "status=failed&status=pending,bogus&type=email&priority=5&priority=9&sort=drop&order=asc&page=2&size=7",
    ),
  );
  assertEquals(q.status, ["failed", "pending"]);
  assertEquals(q.priority, [5]);
  assertEquals([q.sort, q.order, q.page, q.size], ["created_at", "asc", 2, 20]);
  assertEquals(
    jobsSearch(q),
    "?status=failed&status=pending&type=email&priority=5&order=asc&page=2",
  );
  assertEquals(jobsSearch(parseJobsQuery(new URLSearchParams())), "");
});

Deno.test("job form: dotted fields nest, numbers are only numbers, issues map back to fields", () => {
  const body = formToJob({
    type: "report",
    priority: "4",
    report_type: "failures",
    format: "csv",
    "date_range.from": "2026-01-01",
    "date_range.to": "2026-01-31",
    scheduled_for: "2026-02-01T10:30",
    ignored: "x",
  });
  assertEquals(body, {
    type: "report",
    priority: 4,
    scheduled_for: "2026-02-01T10:30:00Z",
    payload: {
      report_type: "failures",
      format: "csv",
      date_range: { from: "2026-01-01", to: "2026-01-31" },
    },
  });
  assert(
    validateForm(
      {
        ...body,
        type: "report",
        priority: "4",
        report_type: "failures",
        format: "csv",
        "date_range.from": "2026-01-01",
        "date_range.to": "2026-01-31",
      } as never,
    ).ok,
  );
  const bad = validateForm({
    type: "report",
    priority: "x",
    report_type: "",
    format: "doc",
    "date_range.from": "2026-02-01",
    "date_range.to": "2026-01-01",
  });
  assert(!bad.ok);
  if (!bad.ok) {
    assertEquals(Object.keys(bad.errors).sort(), [
      "date_range.to",
      "format",
      "priority",
      "report_type",
    ]);
  }
  assertEquals(
    errorsByField([{ path: "payload.to", message: "m" }, {
      path: "payload.to",
      message: "second",
    }]),
    { to: "m" },
  );
  assertEquals(payloadToValues("report", { date_range: { from: "2026-01-01" } }), {
    "date_range.from": "2026-01-01",
  });
});

Deno.test("format: relative times and durations", () => {
  const now = new Date("2026-01-15T12:00:00Z");
  assertEquals(relativeTime(new Date("2026-01-15T11:57:00Z"), now), "3 min ago");
  assertEquals(relativeTime(new Date("2026-01-15T14:00:00Z"), now), "in 2 h");
  assertEquals(relativeTime(now, now), "just now");
  assertEquals([duration(850), duration(4200), duration(185_000)], [
    "850 ms",
    "4.2 s",
    "3 min 5 s",
  ]);
});

Deno.test("csrf: cross-site posts are recognised by Sec-Fetch-Site, else by Origin", () => {
  const req = (h: Record<string, string>) =>
    new Request("http://app.local/jobs/new", {
      method: "POST",
      headers: { host: "app.local", ...h },
    });
  assert(crossSite(req({ "sec-fetch-site": "cross-site" })));
  assert(crossSite(req({ "sec-fetch-site": "same-site" })));
  assert(!crossSite(req({ "sec-fetch-site": "same-origin" })));
  assert(crossSite(req({ origin: "https://evil.example" })));
  assert(crossSite(req({ origin: "null" })));
  assert(!crossSite(req({ origin: "http://app.local" })));
  assert(!crossSite(req({})), "non-browser clients without Origin are not cross-site");
});

Deno.test("login: next only ever points into this site", () => {
  assertEquals(safeNext("/jobs?status=failed"), "/jobs?status=failed");
  assertEquals(safeNext("//evil.example"), "/");
  assertEquals(safeNext("https://evil.example"), "/");
  assertEquals(safeNext("/\\evil.example"), "/");
  assertEquals(safeNext(null), "/");
});

Deno.test("page(): handlers ask for a render with status", () => {
  assertEquals(page({ a: 1 }, { status: 422 }).status, 422);
});
