/**
 * The alert form's data: urlencoded fields to the body the API's schema
 * checks (`createAlertBody`), and its issues back to field names. The form
 * shows every field whatever the kind (it works without JavaScript), so the
 * fields the chosen kind does not take are left out rather than refused.
 */
import type { z } from "zod";
import { fieldIssues } from "@/lib/jobs/mod.ts";

/** Form values by field name. */
export type AlertValues = Record<string, string>;
/** Error messages by field name. */
export type AlertErrors = Record<string, string[]>;

/** The blank form. */
export const BLANK_ALERT: AlertValues = {
  name: "",
  kind: "failure_rate",
  queue: "",
  type: "",
  threshold: "",
  window_minutes: "15",
};

/** A number when `s` is one (the schema then checks its range), else `s` (reported as not a number). */
function num(s: string): number | string {
  return /^-?\d{1,10}(\.\d{1,6})?$/.test(s) ? Number(s) : s;
}

/** The body for `values` (empty fields and fields the kind does not take are left out). */
export function formToAlert(values: AlertValues): Record<string, unknown> {
  const v = (k: string) => (values[k] ?? "").trim();
  const kind = v("kind");
  const out: Record<string, unknown> = { name: v("name"), kind };
  if (v("queue") !== "") out.queue = v("queue");
  if (v("type") !== "" && (kind === "failure_rate" || kind === "backlog")) out.type = v("type");
  if (v("threshold") !== "" && kind !== "no_worker") out.threshold = num(v("threshold"));
  if (v("window_minutes") !== "" && kind === "failure_rate") {
    out.window_minutes = num(v("window_minutes"));
  }
  return out;
}

/** Issues by form field. */
export function alertErrors(err: z.ZodError): AlertErrors {
  const out: AlertErrors = {};
  for (const i of fieldIssues(err)) (out[i.path.split(".")[0]] ??= []).push(i.message);
  return out;
}
