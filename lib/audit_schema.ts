/**
 * The audit log's API shapes: the query of `GET /api/audit` (strict: an
 * unknown parameter or a bad value is a 422 naming it) and an entry as
 * answered.
 */
import { z } from "zod";
import { AUDIT_ACTIONS } from "./queue/audit.ts";
import { hasUnstorableChars, unstorableInstant } from "./jobs/mod.ts";
import { UUID_RE } from "./job_constants.ts";

const intParam = (label: string, min: number, max: number) =>
  z.number({ error: `${label} must be a whole number from ${min} to ${max}` })
    .int(`${label} must be a whole number from ${min} to ${max}`)
    .min(min, `${label} must be at least ${min}`).max(max, `${label} must be at most ${max}`);

const instantParam = (label: string) =>
  z.iso.datetime({
    offset: true,
    error: `${label} must be an ISO 8601 date-time with a time zone (2026-01-15T12:00:00Z)`,
  }).check((ctx) => {
    const why = unstorableInstant(ctx.value, label);
    if (why) ctx.issues.push({ code: "custom", message: why, input: ctx.value });
  });

/** Query of `GET /api/audit`; `action` may repeat or be a comma list (any of). */
export const auditQuery = z.strictObject({
  action: z.array(
    z.enum(AUDIT_ACTIONS, { error: `action must be one of ${AUDIT_ACTIONS.join(", ")}` }),
  ).max(AUDIT_ACTIONS.length * 2, "action may name each action at most twice").optional(),
  actor: z.string({ error: "actor must be given once" }).min(1, "actor must not be empty")
    .max(200, "actor must be at most 200 characters")
    .refine((v) => !hasUnstorableChars(v), "actor contains a NUL byte or an invalid character")
    .optional(),
  job: z.string({ error: "job must be given once" })
    .regex(UUID_RE, "job must be a job id (a UUID)").optional(),
  since: instantParam("since").optional(),
  until: instantParam("until").optional(),
  limit: intParam("limit", 1, 100).optional(),
  offset: intParam("offset", 0, 1_000_000_000).optional(),
});
export type AuditQueryInput = z.output<typeof auditQuery>;

/**
 * The plain object {@link auditQuery} expects from the URL's parameters:
 * `action` as a list (repeated and/or comma-separated), `limit` and `offset`
 * as numbers when they are whole numbers, the rest as text (a parameter
 * given twice stays a list, which the schema refuses).
 */
export function auditQueryObject(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    if (key === "action") {
      out[key] = values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
    } else if (values.length > 1) out[key] = values;
    else if ((key === "limit" || key === "offset") && /^-?\d{1,15}$/.test(values[0])) {
      out[key] = Number(values[0]);
    } else out[key] = values[0];
  }
  return out;
}

/** An audit entry as answered. */
export const auditEntryResponse = z.object({
  id: z.number().int().describe("the entry's id (increasing)"),
  at: z.iso.datetime({ offset: true }),
  actor: z.string().describe("the API token's name, the dashboard user, or `anonymous`"),
  via: z.enum(["token", "session", "open"]).describe(
    "`token`: an API token; `session`: the dashboard; `open`: no API_TOKEN nor DASHBOARD_PASSWORD",
  ),
  address: z.string().nullable().describe("the request's remote address (a proxy's, behind one)"),
  action: z.enum(AUDIT_ACTIONS),
  job_ids: z.array(z.uuid()).nullable().describe("the jobs, when named one by one"),
  filter: z.record(z.string(), z.unknown()).nullable()
    .describe("the list filter of an action by filter"),
  count: z.number().int().nullable().describe("jobs changed (null when not on jobs)"),
  target: z.string().nullable().describe("the queue or schedule acted on"),
  details: z.record(z.string(), z.unknown())
    .describe("the change: before and after, or what a deleted job or schedule was"),
});

/** A page of `GET /api/audit`. */
export const auditPageResponse = z.object({
  items: z.array(auditEntryResponse).describe("newest first"),
  total: z.number().int().describe("entries matching the filters"),
  limit: z.number().int(),
  offset: z.number().int(),
});
