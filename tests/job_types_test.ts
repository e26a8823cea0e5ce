/** Job-type payload schemas: strict, with the field named in every issue. */
import { createJobSchema, fieldIssues, JOB_TYPES } from "../lib/jobs/mod.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";

function issuesOf(body: unknown): Record<string, string> {
  const r = createJobSchema.safeParse(body);
  if (r.success) return {};
  return Object.fromEntries(fieldIssues(r.error).map((i) => [i.path, i.message]));
}

Deno.test("job types: every example payload is valid", () => {
  for (const t of Object.values(JOB_TYPES)) {
    assertEquals(t.schema.safeParse(t.example).success, true, t.name);
    assertEquals(
      createJobSchema.safeParse({ type: t.name, payload: t.example, priority: 5 }).success,
      true,
    );
  }
});

Deno.test("job types: invalid email payloads name the field", () => {
  const i = issuesOf({
    type: "email",
    payload: { to: "not-an-address", subject: "", body: "x", cc: "y" },
  });
  assert(i["payload.to"], "to");
  assert(i["payload.subject"], "subject");
  assert(
    i["payload"]?.includes("cc") || Object.values(i).some((m) => /cc/.test(m)),
    JSON.stringify(i),
  );
  assert(
    issuesOf({
      type: "email",
      payload: { to: "a@b.co", subject: "a\nBcc: x", body: "x" },
    })["payload.subject"],
  );
  assert(
    issuesOf({
      type: "email",
      payload: { to: "a@b.co", subject: "s", body: "nul\u0000" },
    })["payload.body"],
  );
  assert(
    issuesOf({
      type: "email",
      payload: { to: "a@b.co", subject: "s", body: "lone \ud800" },
    })["payload.body"],
  );
});

Deno.test("job types: invalid report payloads name the field", () => {
  const base = {
    report_type: "job_summary",
    format: "csv",
    date_range: { from: "2026-01-02", to: "2026-01-01" },
  };
  assert(issuesOf({ type: "report", payload: base })["payload.date_range.to"], "from after to");
  assert(issuesOf({ type: "report", payload: { ...base, format: "xls" } })["payload.format"]);
  assert(
    issuesOf({ type: "report", payload: { ...base, report_type: "x" } })["payload.report_type"],
  );
  assert(
    issuesOf({
      type: "report",
      payload: { ...base, date_range: { from: "2026-02-30", to: "2026-03-01" } },
    })[
      "payload.date_range.from"
    ],
  );
  assert(
    issuesOf({
      type: "report",
      payload: { report_type: "failures", format: "pdf" },
    })["payload.date_range"],
  );
});

Deno.test("job types: invalid notification payloads name the field", () => {
  const i = issuesOf({
    type: "notification",
    payload: { user_id: "", channel: "pigeon", message: 5 },
  });
  assert(i["payload.user_id"] && i["payload.channel"] && i["payload.message"], JSON.stringify(i));
});

Deno.test("job types: envelope is strict about types and fields", () => {
  const payload = JOB_TYPES.email.example;
  assert(issuesOf({ type: "email", payload, priority: "3" })["priority"], "string priority");
  assert(issuesOf({ type: "email", payload, priority: 3.5 })["priority"], "fractional priority");
  assert(issuesOf({ type: "email", payload, priority: 6 })["priority"], "priority range");
  assert(Object.keys(issuesOf({ type: "email", payload, extra: 1 })).length > 0, "unknown field");
  assert(Object.keys(issuesOf({ type: "fax", payload })).length > 0, "unknown type");
  assert(issuesOf({ type: "email", payload, scheduled_for: "tomorrow" })["scheduled_for"]);
  assertEquals(
    createJobSchema.safeParse({ type: "email", payload, scheduled_for: "2026-12-01T10:00:00Z" })
      .success,
    true,
  );
});
