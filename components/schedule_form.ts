/**
 * The schedule form's data: urlencoded fields to the body the API's schema
 * checks (`createScheduleBody` / `patchScheduleBody`), and its issues back to
 * field names. The payload is a JSON object in one textarea; its issues
 * (`payload.to`, …) are listed under it.
 */
import { fieldIssues, JOB_TYPES } from "@/lib/jobs/mod.ts";
import type { z } from "zod";

/** Form values by field name. */
export type ScheduleValues = Record<string, string>;
/** Error messages by field name (`payload` gathers every `payload.*` issue). */
export type ScheduleErrors = Record<string, string[]>;

/** The number in `s` when it is a whole number, else `s` (so the schema reports it). */
function num(s: string): number | string {
  return /^\d{1,6}$/.test(s) ? Number(s) : s;
}

/**
 * The body for `values`: empty optional fields are left out (`queue` empty:
 * null on a change, meaning the type's default), `enabled` is the checkbox,
 * `payload` is parsed as JSON (text that is not JSON stays text, and the
 * schema says it must be an object).
 */
export function formToSchedule(
  values: ScheduleValues,
  opts: { edit?: boolean } = {},
): Record<string, unknown> {
  const v = (k: string) => (values[k] ?? "").trim();
  const out: Record<string, unknown> = {};
  if (!opts.edit) out.name = v("name");
  out.cron = v("cron");
  if (v("timezone") !== "") out.timezone = v("timezone");
  out.type = v("type");
  let payload: unknown = values.payload ?? "";
  try {
    payload = JSON.parse(String(payload));
  } catch { /* stays text: "payload must be an object" */ }
  out.payload = payload;
  if (v("priority") !== "") out.priority = num(v("priority"));
  if (v("queue") !== "") out.queue = v("queue");
  else if (opts.edit) out.queue = null;
  if (v("max_attempts") !== "") out.max_attempts = num(v("max_attempts"));
  out.enabled = values.enabled === "on" || values.enabled === "true";
  return out;
}

/** Issues by form field: `payload.to` goes under `payload` as "to: …". */
export function scheduleErrors(err: z.ZodError): ScheduleErrors {
  const out: ScheduleErrors = {};
  for (const i of fieldIssues(err)) {
    const [head, ...rest] = i.path.split(".");
    const key = head === "" ? "" : head;
    const msg = head === "payload" && rest.length ? `${rest.join(".")}: ${i.message}` : i.message;
    (out[key] ??= []).push(msg);
  }
  return out;
}

/** The form values of a stored schedule (or blank ones for a new schedule of `type`). */
export function scheduleToValues(
  s: {
    name: string;
    cron: string;
    timezone: string;
    type: string;
    payload: unknown;
    priority: number;
    queue: string | null;
    max_attempts: number;
    enabled: boolean;
  } | null,
  type = "email",
): ScheduleValues {
  if (!s) {
    return {
      name: "",
      cron: "",
      timezone: "UTC",
      type,
      payload: JSON.stringify(JOB_TYPES[type]?.example ?? {}, null, 2),
      priority: "3",
      queue: "",
      max_attempts: "3",
      enabled: "on",
    };
  }
  return {
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    type: s.type,
    payload: JSON.stringify(s.payload, null, 2),
    priority: String(s.priority),
    queue: s.queue ?? "",
    max_attempts: String(s.max_attempts),
    enabled: s.enabled ? "on" : "",
  };
}
