/**
 * The zod schemas of schedules, shared by the API, the `/schedules` page and
 * the schedules file. Browser-safe (zod, croner and the job-type registry).
 *
 * The payload is checked with its job type's own schema (issues under
 * `payload.<field>`), and every other field is checked in the same pass, so
 * a refused schedule lists every problem at once.
 */
import { z } from "zod";
import { JOB_TYPE_NAMES, JOB_TYPES } from "../jobs/mod.ts";
import { canonicalTimezone, cronError, timezoneError } from "./cron.ts";

/**
 * The stored spelling of a valid schedule's cron and time zone (trimmed;
 * `utc` → `UTC`), so equal schedules compare equal.
 */
export function normalized<T extends { cron: string; timezone?: string }>(s: T): T {
  return { ...s, cron: s.cron.trim(), timezone: canonicalTimezone(s.timezone ?? "UTC") };
}

/** A schedule's name, and a queue's: lower-case, starts with a letter, ≤ 63 characters. */
export const SCHEDULE_NAME_RE = /^[a-z][a-z0-9_-]{0,62}$/;
const QUEUE_NAME_RE = SCHEDULE_NAME_RE;

const nameField = z.string({ error: "name must be text" }).regex(
  SCHEDULE_NAME_RE,
  "name must start with a lower-case letter and hold only a-z, 0-9, _ and - (at most 63)",
);
const cronField = z.string({ error: "cron must be text" }).max(200, "cron is too long")
  .check((ctx) => {
    const why = cronError(ctx.value);
    if (why) ctx.issues.push({ code: "custom", message: why, input: ctx.value });
  });
const timezoneField = z.string({ error: "timezone must be text" }).check((ctx) => {
  const why = timezoneError(ctx.value);
  if (why) ctx.issues.push({ code: "custom", message: why, input: ctx.value });
});
const typeField = z.enum(JOB_TYPE_NAMES, {
  error: `type must be one of ${JOB_TYPE_NAMES.join(", ")}`,
});
const priorityField = z.number({ error: "priority must be a whole number from 1 to 5" })
  .int("priority must be a whole number from 1 to 5").min(1, "priority must be at least 1")
  .max(5, "priority must be at most 5");
const queueField = z.string({ error: "queue must be text or null" }).regex(
  QUEUE_NAME_RE,
  "queue must start with a lower-case letter and hold only a-z, 0-9, _ and - (at most 63)",
).nullable();
const maxAttemptsField = z.number({ error: "max_attempts must be a whole number" })
  .int("max_attempts must be a whole number").min(1, "max_attempts must be at least 1")
  .max(100, "max_attempts must be at most 100");
const enabledField = z.boolean({ error: "enabled must be true or false" });

/** The fields of a schedule after its name, as the API and the file give them. */
const fields = {
  cron: cronField.describe("5 fields (minute hour day-of-month month day-of-week) or @hourly, …"),
  timezone: timezoneField.optional().describe("IANA time zone (default UTC)"),
  type: typeField,
  payload: z.record(z.string(), z.unknown(), { error: "payload must be an object" })
    .describe("the job's payload, checked with its type's schema"),
  priority: priorityField.optional().describe("1–5, default 3"),
  queue: queueField.optional().describe("the job's queue (default null: the type's default)"),
  max_attempts: maxAttemptsField.optional().describe("1–100, default 3"),
  enabled: enabledField.optional().describe("default true"),
};

/** Adds the payload's issues under `payload.<field>` when `type` is a known type. */
function checkPayload(v: { type?: unknown; payload?: unknown }, ctx: z.RefinementCtx): void {
  if (typeof v?.type !== "string" || !(JOB_TYPE_NAMES as readonly string[]).includes(v.type)) {
    return;
  }
  if (v.payload === null || typeof v.payload !== "object" || Array.isArray(v.payload)) return;
  const res = JOB_TYPES[v.type].schema.safeParse(v.payload);
  if (res.success) return;
  for (const i of res.error.issues) {
    ctx.addIssue({ code: "custom", message: i.message, path: ["payload", ...i.path] });
  }
}

/** Every field checked even when another failed (so 422s list every issue). */
const always = { when: () => true } as never;

/** The shape of a new schedule (no payload check): the document's schema. */
export const scheduleShape = z.strictObject({ name: nameField, ...fields });

/** Body of `POST /api/schedules` and one entry of the schedules file. */
export const createScheduleBody = scheduleShape.superRefine(checkPayload, always);
export type CreateSchedule = z.output<typeof createScheduleBody>;

/** The shape of a change (every field optional, no name). */
export const patchShape = z.strictObject({
  cron: fields.cron.optional(),
  timezone: timezoneField.optional(),
  type: typeField.optional(),
  payload: fields.payload.optional(),
  priority: priorityField.optional(),
  queue: queueField.optional(),
  max_attempts: maxAttemptsField.optional(),
  enabled: enabledField.optional(),
});

/**
 * Body of `PATCH /api/schedules/:name`. The payload is checked against the
 * type after the change (the handler checks the merged schedule again with
 * {@link createScheduleBody}).
 */
export const patchScheduleBody = patchShape.superRefine(checkPayload, always);
export type PatchSchedule = z.output<typeof patchScheduleBody>;

/** The schedules file: `{"schedules": [ … ]}` (names unique). */
export const schedulesFile = z.strictObject({
  $schema: z.string().optional(),
  schedules: z.array(createScheduleBody, { error: "schedules must be an array" }),
}).superRefine((v, ctx) => {
  const seen = new Set<string>();
  if (!Array.isArray(v?.schedules)) return;
  v.schedules.forEach((s, i) => {
    const name = (s as { name?: unknown })?.name;
    if (typeof name !== "string") return;
    if (seen.has(name)) {
      ctx.addIssue({
        code: "custom",
        message: `name ${name} appears twice`,
        path: ["schedules", i, "name"],
      });
    }
    seen.add(name);
  });
}, always);
