/** Unit tests of the dashboard's parts: escaping in the JSON tree, the jobs query, the job form, formats, CSRF. */
import { renderToString } from "preact-render-to-string";
import { JsonTree } from "../components/JsonTree.tsx";
import { jobsSearch, parseJobsQuery } from "../components/jobs_query.ts";
import { errorsByField, formToJob, payloadToValues, validateForm } from "../components/job_form.ts";
import { duration, relativeTime } from "../components/format.ts";
import { crossSite } from "../lib/http/same_origin.ts";
import { assert, assertEquals, assertStringIncludes } from "./_helpers/assert.ts";
import { $, $$, parse, text } from "./_helpers/html.ts";

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
