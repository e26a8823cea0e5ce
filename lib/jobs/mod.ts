/**
 * The job-type registry and the schemas shared by the API, the form and the
 * worker. Browser-safe (islands import it).
 */
import { z } from "zod";
import { email } from "./email.ts";
import { notification } from "./notification.ts";
import { report } from "./report.ts";
import { type JobType, text } from "./common.ts";
import { DEFAULT_QUEUE, QUEUE_NAME_RE } from "../job_constants.ts";

export * from "./common.ts";
export { email, notification, report };

/**
 * Every job type by name, in an object without a prototype: a name taken
 * from a request (`?type=constructor`) finds no type, not one of Object's
 * own properties.
 */
export const JOB_TYPES: Record<string, JobType<unknown>> = Object.assign(Object.create(null), {
  email: email as JobType<unknown>,
  report: report as JobType<unknown>,
  notification: notification as JobType<unknown>,
});
export const JOB_TYPE_NAMES = ["email", "report", "notification"] as const;
export type JobTypeName = typeof JOB_TYPE_NAMES[number];

/** A job's priority: a whole number 1–5 (strict: `"3"` is refused). */
export const priority = z.number({ error: "priority must be a whole number from 1 to 5" })
  .int("priority must be a whole number from 1 to 5").min(1, "priority must be at least 1")
  .max(5, "priority must be at most 5");
const maxAttempts = z.number({ error: "max_attempts must be a whole number" })
  .int("max_attempts must be a whole number").min(1, "max_attempts must be at least 1")
  .max(100, "max_attempts must be at most 100");
/**
 * Why PostgreSQL's `timestamptz` would refuse an ISO 8601 date-time, or `null`
 * when it stores it: it has no year 0000 (1 BC), and takes UTC offsets only
 * up to ±15:59.
 */
export function unstorableInstant(iso: string, label = "scheduled_for"): string | null {
  if (iso.startsWith("0000")) {
    return `${label}: year 0000 cannot be stored (PostgreSQL has no year 0); use 0001 or later`;
  }
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(iso);
  if (offset && Number(offset[2]) > 15) {
    return `${label}: UTC offset ${offset[0]} is out of range (at most ±15:59)`;
  }
  return null;
}

/** An ISO 8601 date-time with an offset that `timestamptz` stores. */
const instant = (label: string) =>
  z.iso.datetime({ offset: true, error: `${label} must be an ISO 8601 date-time` }).check(
    (ctx) => {
      const why = unstorableInstant(ctx.value, label);
      if (why) ctx.issues.push({ code: "custom", message: why, input: ctx.value });
    },
  );

/** Most characters of a `unique_key`. */
export const UNIQUE_KEY_MAX = 255;
/** Longest `timeout_seconds` (one day). */
export const TIMEOUT_SECONDS_MAX = 86_400;

/** While a pending or processing job has this key, creating another returns that job. */
export const uniqueKey = text({ max: UNIQUE_KEY_MAX, label: "unique_key" });
/** Bound of one attempt, in whole seconds. */
export const timeoutSeconds = z.number({
  error: `timeout_seconds must be a whole number of seconds from 1 to ${TIMEOUT_SECONDS_MAX}`,
}).int(`timeout_seconds must be a whole number of seconds from 1 to ${TIMEOUT_SECONDS_MAX}`)
  .min(1, "timeout_seconds must be at least 1")
  .max(TIMEOUT_SECONDS_MAX, `timeout_seconds must be at most ${TIMEOUT_SECONDS_MAX} (one day)`);

/** A queue name (`^[a-z][a-z0-9_-]{0,62}$`), with a message naming the field `label`. */
export const queueName = (label = "queue") =>
  z.string({ error: `${label} must be a queue name (text)` }).regex(
    QUEUE_NAME_RE,
    `${label} must be 1–63 characters of a-z, 0-9, _ and -, starting with a letter`,
  );

/** The queue a job of type `type` joins when it names none. */
export function defaultQueueOf(type: string): string {
  return JOB_TYPES[type]?.queue ?? DEFAULT_QUEUE;
}

function createSchemaFor<T extends JobTypeName>(name: T, payload: z.ZodType) {
  return z.strictObject({
    type: z.literal(name),
    payload,
    priority: priority.optional(),
    max_attempts: maxAttempts.optional(),
    scheduled_for: instant("scheduled_for").nullable().optional(),
    unique_key: uniqueKey.nullable().optional(),
    timeout_seconds: timeoutSeconds.nullable().optional(),
    expires_at: instant("expires_at").nullable().optional(),
    queue: queueName().optional().describe(
      `the job's queue (default: ${defaultQueueOf(name)}, the type's default queue)`,
    ),
  });
}

/** The body of `POST /api/jobs`: a job of one of the known types (strict). */
export const createJobSchema = z.discriminatedUnion("type", [
  createSchemaFor("email", email.schema),
  createSchemaFor("report", report.schema),
  createSchemaFor("notification", notification.schema),
], {
  error: (iss) =>
    iss.code === "invalid_union" ? `type must be one of ${JOB_TYPE_NAMES.join(", ")}` : undefined,
});
export type CreateJob = z.infer<typeof createJobSchema>;

/** One issue of a failed validation, with its path joined by dots. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Flattens a ZodError into `{path, message}` pairs (path "" for the whole body). */
export function fieldIssues(err: z.ZodError): FieldIssue[] {
  return err.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
}
